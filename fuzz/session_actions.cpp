// Two engines back to back, driven by a fuzz-chosen sequence of actions: open, write, read,
// half-close, close, abort a write, move bytes with arbitrary split points, let time pass,
// lend received bytes without a copy and give them back later, read a stream's counters.
// Invariants: every stream delivers a prefix of what was sent on it, in order; no write
// completes before its bytes were committed; memory stays within the config's bounds; only
// well-formed frames cross.

#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <smux/core/session.hpp>
#include <vector>

#include "frame_checker.hpp"

namespace {

using smux::core::stream_id;

struct direction {
    std::vector<std::byte> sent;      // bytes of completed writes, in order
    std::vector<std::byte> received;  // bytes read by the other side
};

struct pending_write {
    std::vector<std::byte> bytes;
    std::array<std::span<std::byte const>, 1> spans{};
    std::size_t accepted = 0;
};

/// Views lent by `take`, not yet released.
struct lent_views {
    stream_id id;
    std::array<smux::core::rx_chunk, 4> chunks;
};

struct peer {
    peer(smux::core::role r, smux::config const& cfg, smux::core::time_point now)
        : engine(r, cfg, now), checker(cfg.version, r, cfg.max_frame_size) {}
    smux::core::session engine;
    smux::fuzz::frame_checker checker;
    std::vector<stream_id> streams;
    std::map<stream_id, std::unique_ptr<pending_write>> writes;
    std::map<stream_id, direction> out;  // what this side sent per stream
    std::vector<lent_views> lent;
};

void transfer(peer& from, peer& to, std::size_t step, std::vector<std::byte>& wire) {
    auto segments = from.engine.prepare_send();
    std::size_t left = step;
    std::size_t committed = 0;
    for (auto seg : segments) {
        std::size_t const k = std::min(left, seg.size());
        from.checker.feed(seg.first(k));
        wire.insert(wire.end(), seg.begin(), seg.begin() + static_cast<std::ptrdiff_t>(k));
        committed += k;
        left -= k;
        if (left == 0) {
            break;
        }
    }
    from.engine.commit_send(committed);
    std::size_t const took = to.engine.receive(wire);
    wire.erase(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(took));
}

void handle_events(peer& p, peer& other) {
    while (auto e = p.engine.poll_event()) {
        if (e->what == smux::core::event::kind::write_done) {
            auto it = p.writes.find(e->id);
            smux::fuzz::check(it != p.writes.end(), "write_done without a write");
            smux::fuzz::check(e->bytes <= it->second->accepted, "write_done counts too much");
            // Only now is it known how much went out (abort_write may have cut the write).
            auto const& bytes = it->second->bytes;
            auto& d = p.out[e->id];
            d.sent.insert(d.sent.end(), bytes.begin(),
                          bytes.begin() + static_cast<std::ptrdiff_t>(e->bytes));
            p.writes.erase(it);
        }
    }
    (void)other;
}

/// Bytes read from `id` arrived: they must extend what the other side sent, in order.
void check_received(peer& other, stream_id id, std::span<std::byte const> got) {
    auto& d = other.out[id];
    d.received.insert(d.received.end(), got.begin(), got.end());
    // What may have arrived: completed writes, then the write in progress (accepted part).
    std::vector<std::byte> expected = d.sent;
    if (auto it = other.writes.find(id); it != other.writes.end()) {
        auto const& w = *it->second;
        expected.insert(expected.end(), w.bytes.begin(),
                        w.bytes.begin() + static_cast<std::ptrdiff_t>(w.accepted));
    }
    smux::fuzz::check(d.received.size() <= expected.size(), "received more than sent");
    smux::fuzz::check(std::equal(d.received.begin(), d.received.end(), expected.begin()),
                      "received bytes differ from sent bytes");
}

void read_some(peer& p, peer& other, stream_id id, std::size_t n) {
    std::vector<std::byte> buf(n);
    std::span<std::byte> dst(buf);
    auto r = p.engine.read(id, std::span(&dst, 1));
    if (r.state != smux::core::read_result::status::data) {
        return;
    }
    check_received(other, id, std::span(buf).first(r.bytes));
}

/// A zero-copy read: the views hold the next bytes of the stream; they stay lent (and counted)
/// until a later action releases them.
void take(peer& p, peer& other, stream_id id, std::size_t n) {
    lent_views v{.id = id, .chunks = {}};
    auto const before = p.engine.counters().buffered_bytes;
    auto const r = p.engine.take(id, n, v.chunks);
    if (r.read.state != smux::core::read_result::status::data || r.read.bytes == 0) {
        return;
    }
    std::size_t total = 0;
    for (std::size_t i = 0; i < r.chunks; ++i) {
        auto const& c = v.chunks[i];
        check_received(other, id, std::span(c.buffer->data() + c.offset, c.length));
        total += c.length;
    }
    smux::fuzz::check(total == r.read.bytes && total <= n, "take counts other bytes than lent");
    smux::fuzz::check(p.engine.counters().buffered_bytes == before,
                      "lent bytes left the receive budget");
    p.lent.push_back(std::move(v));
}

void release_oldest(peer& p) {
    if (p.lent.empty()) {
        return;
    }
    p.engine.release(p.lent.front().id, p.lent.front().chunks);
    p.lent.erase(p.lent.begin());
}

/// A stream's counters agree with what the engine says elsewhere.
void check_stream_stats(peer& p, stream_id id) {
    auto const st = p.engine.stream_stats(id);
    if (!st) {
        return;
    }
    smux::fuzz::check(st->buffered_bytes == p.engine.readable_bytes(id),
                      "stream stats disagree with readable_bytes");
    smux::fuzz::check(st->bytes_received >= st->buffered_bytes, "more buffered than ever received");
}

/// A wait's view of the stream agrees with the bytes buffered, and a read of exactly that
/// many takes them all.
void poll_then_read(peer& p, peer& other, stream_id id) {
    auto const buffered = p.engine.readable_bytes(id);
    auto const r = p.engine.poll_read(id);
    using status = smux::core::read_result::status;
    smux::fuzz::check((r.state == status::data) == (buffered > 0), "poll_read disagrees");
    if (r.state == status::data) {
        smux::fuzz::check(r.bytes == buffered, "poll_read counts other bytes than buffered");
        read_some(p, other, id, buffered);
        smux::fuzz::check(p.engine.readable_bytes(id) == 0, "a read of all left bytes behind");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    smux::config cfg;
    cfg.version = in.ConsumeBool() ? 2 : 1;
    cfg.max_receive_buffer = in.ConsumeIntegralInRange<std::int64_t>(1, 1 << 20);
    cfg.max_stream_buffer = in.ConsumeIntegralInRange<std::int64_t>(1, cfg.max_receive_buffer);
    cfg.max_frame_size = in.ConsumeIntegralInRange<std::int64_t>(1, 65'535);
    cfg.max_streams = in.ConsumeIntegralInRange<std::int64_t>(1, 64);
    auto now = smux::core::clock::time_point{};
    peer a(smux::core::role::client, cfg, now);
    peer b(smux::core::role::server, cfg, now);
    std::vector<std::byte> a_to_b;
    std::vector<std::byte> b_to_a;

    for (int step = 0; step < 2'000 && in.remaining_bytes() > 0; ++step) {
        bool const on_a = in.ConsumeBool();
        peer& p = on_a ? a : b;
        peer& other = on_a ? b : a;
        smux::error_code ec;
        auto pick = [&]() -> std::optional<stream_id> {
            if (p.streams.empty()) {
                return std::nullopt;
            }
            return p.streams[in.ConsumeIntegralInRange<std::size_t>(0, p.streams.size() - 1)];
        };
        switch (in.ConsumeIntegralInRange<int>(0, 12)) {
            case 0:
                if (auto id = p.engine.open_stream(ec)) {
                    p.streams.push_back(*id);
                }
                break;
            case 1:
                while (auto id = p.engine.accept_stream(ec)) {
                    p.streams.push_back(*id);
                }
                break;
            case 2:
                if (auto id = pick(); id && !p.writes.contains(*id)) {
                    auto w = std::make_unique<pending_write>();
                    w->bytes = in.ConsumeBytes<std::byte>(
                        in.ConsumeIntegralInRange<std::size_t>(1, 100'000));
                    if (w->bytes.empty()) {
                        break;
                    }
                    w->spans[0] = w->bytes;
                    auto r = p.engine.write(*id, w->spans);
                    if (r.accepted > 0) {
                        w->accepted = r.accepted;
                        p.writes[*id] = std::move(w);
                    }
                }
                break;
            case 3:
                if (auto id = pick()) {
                    read_some(p, other, *id, in.ConsumeIntegralInRange<std::size_t>(1, 70'000));
                }
                break;
            case 4:
                if (auto id = pick()) {
                    (void)p.engine.close_write(*id);
                }
                break;
            case 5:
                if (auto id = pick(); id && !p.writes.contains(*id)) {
                    p.engine.close_stream(*id);
                    std::erase(p.streams, *id);
                    other.out.erase(*id);  // its unread bytes are gone by design
                }
                break;
            case 6:
                if (auto id = pick(); id && p.writes.contains(*id)) {
                    p.engine.abort_write(*id);
                }
                break;
            case 7:
                transfer(p, other, in.ConsumeIntegralInRange<std::size_t>(1, 200'000),
                         on_a ? a_to_b : b_to_a);
                break;
            case 8:
                now += std::chrono::milliseconds(in.ConsumeIntegralInRange<int>(0, 5'000));
                a.engine.on_timer(now);
                b.engine.on_timer(now);
                break;
            case 9:
                if (auto id = pick()) {
                    poll_then_read(p, other, *id);
                }
                break;
            case 10:
                if (auto id = pick()) {
                    take(p, other, *id, in.ConsumeIntegralInRange<std::size_t>(1, 70'000));
                }
                break;
            case 11:
                release_oldest(p);
                break;
            case 12:
                if (auto id = pick()) {
                    check_stream_stats(p, *id);
                }
                break;
        }
        handle_events(a, b);
        handle_events(b, a);
        smux::fuzz::check_memory_bounds(a.engine);
        smux::fuzz::check_memory_bounds(b.engine);
    }
    return 0;
}
