// One engine fed arbitrary peer bytes at arbitrary split points, with the application reading
// and the clock moving. Whatever arrives: no crash, memory within the config's bounds, and
// only well-formed frames go out.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <smux/core/session.hpp>
#include <vector>

#include "frame_checker.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    smux::config cfg;
    cfg.version = in.ConsumeBool() ? 2 : 1;
    cfg.max_receive_buffer = in.ConsumeIntegralInRange<std::int64_t>(1, 1 << 20);
    cfg.max_stream_buffer = in.ConsumeIntegralInRange<std::int64_t>(1, cfg.max_receive_buffer);
    cfg.max_frame_size = in.ConsumeIntegralInRange<std::int64_t>(1, 65'535);
    cfg.accept_backlog = in.ConsumeIntegralInRange<std::int64_t>(1, 64);
    cfg.max_streams = in.ConsumeIntegralInRange<std::int64_t>(1, 128);
    auto const r = in.ConsumeBool() ? smux::core::role::client : smux::core::role::server;
    auto now = smux::core::clock::time_point{};
    smux::core::session s(r, cfg, now);
    smux::fuzz::frame_checker out(cfg.version, r, cfg.max_frame_size);
    std::vector<std::byte> pending;
    std::vector<std::byte> sink(4096);

    while (in.remaining_bytes() > 0) {
        auto const piece =
            in.ConsumeBytes<std::byte>(in.ConsumeIntegralInRange<std::size_t>(1, 300));
        pending.insert(pending.end(), piece.begin(), piece.end());
        std::size_t const took = s.receive(pending);
        pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(took));
        smux::fuzz::check_memory_bounds(s);

        // The application: accept, read some, sometimes write back, sometimes close.
        smux::error_code ec;
        while (auto id = s.accept_stream(ec)) {
            std::span<std::byte> dst(sink.data(),
                                     in.ConsumeIntegralInRange<std::size_t>(1, sink.size()));
            (void)s.read(*id, std::span(&dst, 1));
            if (in.ConsumeBool()) {
                s.close_stream(*id);
            }
        }
        if (in.ConsumeBool()) {
            (void)s.open_stream(ec);
        }
        while (auto e = s.poll_event()) {
            if (e->what == smux::core::event::kind::readable) {
                std::span<std::byte> dst(sink);
                (void)s.read(e->id, std::span(&dst, 1));
            }
        }
        if (in.ConsumeBool()) {
            now += std::chrono::milliseconds(in.ConsumeIntegralInRange<int>(0, 40'000));
            s.on_timer(now);
        }
        out.drain(s, in.ConsumeIntegralInRange<std::size_t>(1, 70'000));
        if (!s.is_alive() && pending.size() > 0 && s.receive(pending) != pending.size()) {
            smux::fuzz::fail("a dead session must swallow input");
        }
    }
    return 0;
}
