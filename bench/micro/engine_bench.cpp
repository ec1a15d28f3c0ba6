// Engine throughput without any I/O: a sender engine frames borrowed payload into gather lists,
// the bytes go into a receiver engine as whole blocks (as the driver reads them), and the
// receiver's application reads them out. Reported as bytes and frames per second.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstring>
#include <smux/core/session.hpp>
#include <vector>

namespace {

using smux::core::role;
using smux::core::session;

struct engine_pair {
    explicit engine_pair(int version)
        : sender(role::client, make_config(version), {}),
          receiver(role::server, make_config(version), {}) {
        smux::error_code ec;
        id = *sender.open_stream(ec);
        move_bytes();
        (void)receiver.accept_stream(ec);
        sink.resize(1 << 20);
    }

    static smux::config make_config(int version) {
        smux::config cfg;
        cfg.version = version;
        cfg.keep_alive_disabled = true;
        return cfg;
    }

    /// Sender output into receive blocks of 64 KiB, like the driver's reads.
    std::size_t move_bytes() {
        std::size_t moved = 0;
        while (sender.want_write()) {
            auto segments = sender.prepare_send();
            std::size_t total = 0;
            for (auto seg : segments) {
                std::size_t off = 0;
                while (off < seg.size()) {
                    if (!block || block->unused().empty()) {
                        block = smux::core::rx_buffer_ptr::allocate(64 * 1024);
                    }
                    std::size_t const n = std::min(block->unused().size(), seg.size() - off);
                    std::memcpy(block->unused().data(), seg.data() + off, n);
                    smux::core::rx_chunk chunk{block, static_cast<std::uint32_t>(block->size()),
                                               static_cast<std::uint32_t>(n)};
                    block->set_size(block->size() + n);
                    receiver.receive(chunk);
                    off += n;
                }
                total += seg.size();
            }
            sender.commit_send(total);
            moved += total;
        }
        return moved;
    }

    void read_all() {
        std::span<std::byte> out(sink);
        while (receiver.read(id, std::span(&out, 1)).bytes > 0) {
        }
        // window updates (v2) back to the sender
        while (receiver.want_write()) {
            auto segments = receiver.prepare_send();
            std::size_t total = 0;
            for (auto seg : segments) {
                sender.receive(seg);
                total += seg.size();
            }
            receiver.commit_send(total);
        }
        while (sender.poll_event()) {
        }
        while (receiver.poll_event()) {
        }
    }

    session sender;
    session receiver;
    smux::core::stream_id id = 0;
    smux::core::rx_buffer_ptr block;
    std::vector<std::byte> sink;
};

/// Arguments: protocol version, payload bytes per write (one write = frames of <= 32 KiB).
void engine_throughput(benchmark::State& state) {
    engine_pair p(static_cast<int>(state.range(0)));
    std::vector<std::byte> payload(static_cast<std::size_t>(state.range(1)), std::byte{0x5a});
    std::span<std::byte const> span(payload);
    std::size_t bytes = 0;
    std::uint64_t frames_before = p.sender.counters().frames_sent;
    for (auto _ : state) {
        auto r = p.sender.write(p.id, std::span(&span, 1));
        p.move_bytes();
        p.read_all();
        bytes += r.accepted;
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
    state.counters["frames_per_s"] =
        benchmark::Counter(static_cast<double>(p.sender.counters().frames_sent - frames_before),
                           benchmark::Counter::kIsRate);
}
BENCHMARK(engine_throughput)
    ->ArgNames({"version", "payload"})
    ->Args({1, 64})
    ->Args({1, 32768})
    ->Args({2, 64})
    ->Args({2, 32768});

}  // namespace
