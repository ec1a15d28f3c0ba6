// Flow control (docs/protocol.md §6): the session-wide receive budget of both versions, the
// per-stream windows of version 2 on the sending and on the receiving side, and their u32
// wrap-around.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <smux/core/rx_buffer.hpp>
#include <smux/core/session.hpp>
#include <smux/error.hpp>
#include <string>
#include <vector>

#include "support/core_frames.hpp"

namespace {

using namespace core_test;
using smux::error;
using smux::core::session;
using status = read_result::status;

constexpr std::uint32_t initial_window = smux::core::initial_peer_window;

// ---- session budget (v1 and v2)

class budget : public ::testing::TestWithParam<int> {};

TEST_P(budget, reading_pauses_at_max_receive_buffer_and_resumes_after_a_read) {
    int const v = GetParam();
    auto cfg = make_config(v);
    cfg.max_receive_buffer = 100'000;
    session s(role::server, cfg, t0);
    // 30000 bytes on each of four streams (also within every v2 window), then more.
    bytes in = syn(v, 3) + syn(v, 5) + syn(v, 7) + syn(v, 9);
    for (stream_id id : {3U, 5U, 7U, 9U}) {
        in += psh(v, id, pattern(id, 30'000));
    }
    std::size_t const paused_at = in.size();
    in += psh(v, 3, "after") + syn(v, 11) + nop(v);
    EXPECT_EQ(feed(s, in), paused_at);  // the fourth frame took the budget below zero
    EXPECT_FALSE(s.want_read());
    EXPECT_EQ(s.counters().buffered_bytes, 120'000U);
    std::span<std::byte const> rest(in.data() + paused_at, in.size() - paused_at);
    EXPECT_EQ(feed(s, rest), 0U);  // not even a NOP is read while paused
    EXPECT_EQ(s.counters().bytes_received, paused_at);

    bytes got;
    ASSERT_EQ(read_some(s, 5, got, 10'000).state, status::data);
    EXPECT_FALSE(s.want_read());  // 110000 still buffered
    ASSERT_EQ(read_some(s, 5, got, 10'001).state, status::data);
    EXPECT_TRUE(s.want_read());     // 99999 < 100000
    EXPECT_EQ(feed(s, rest), 13U);  // "after" takes it to 100004: paused again
    EXPECT_FALSE(s.want_read());
    EXPECT_EQ(s.counters().buffered_bytes, 100'004U);
    ASSERT_EQ(read_some(s, 3, got, 5).state, status::data);
    EXPECT_TRUE(s.want_read());
    EXPECT_EQ(feed(s, rest.subspan(13)), 16U);
}

TEST_P(budget, exactly_max_receive_buffer_pauses_one_byte_read_resumes) {
    int const v = GetParam();
    auto cfg = make_config(v);
    cfg.max_receive_buffer = 60'000;
    cfg.max_stream_buffer = 60'000;
    session s(role::server, cfg, t0);
    bytes const in =
        syn(v, 3) + psh(v, 3, pattern(1, 30'000)) + psh(v, 3, pattern(2, 30'000)) + psh(v, 3, "z");
    EXPECT_EQ(feed(s, in), in.size() - 9U);  // Go: bucket 0 is not > 0
    EXPECT_FALSE(s.want_read());
    bytes got;
    ASSERT_EQ(read_some(s, 3, got, 1).state, status::data);
    EXPECT_TRUE(s.want_read());
    EXPECT_EQ(feed(s, std::span<std::byte const>(in).last(9)), 9U);
    EXPECT_FALSE(s.want_read());
}

TEST_P(budget, a_peer_ignoring_it_cannot_make_the_engine_hold_more) {
    int const v = GetParam();
    auto cfg = make_config(v);
    cfg.max_receive_buffer = 100'000;
    session s(role::server, cfg, t0);
    // 40 streams so that v2 windows do not end the session first.
    bytes in;
    for (stream_id id = 3; id < 83; id += 2) {
        in += syn(v, id);
    }
    for (int round = 0; round < 4; ++round) {
        for (stream_id id = 3; id < 83; id += 2) {
            in += psh(v, id, pattern(id, 65'535));
        }
    }
    // The driver keeps offering everything in 100 KiB pieces, whatever want_read says.
    std::size_t pos = 0;
    for (int i = 0; i < 1'000 && pos < in.size(); ++i) {
        std::size_t const n = std::min<std::size_t>(100 * 1'024, in.size() - pos);
        pos += s.receive(std::span<std::byte const>(in.data() + pos, n));
        auto const c = s.counters();
        ASSERT_LE(c.buffered_bytes, 100'000U + 65'535U);
        // The last frame admitted may pin up to two connection blocks (of 100 KiB here)
        // beyond the default pin limit max(2 * max_receive_buffer, 256 KiB).
        ASSERT_LE(c.pinned_bytes, 256U * 1'024U + 2U * 100U * 1'024U);
    }
    EXPECT_TRUE(s.is_alive());
    EXPECT_FALSE(s.want_read());
    EXPECT_LT(pos, in.size());
    EXPECT_GE(s.counters().buffered_bytes, 100'000U);
    EXPECT_EQ(s.counters().bytes_received, pos);
}

TEST_P(budget, tiny_frames_cannot_pin_unbounded_memory) {
    int const v = GetParam();
    smux::core::session::options opts;
    opts.max_pinned_bytes = 64 * 1'024;
    auto cfg = make_config(v);
    cfg.accept_backlog = 10'000;
    session s(role::server, cfg, t0, opts);
    // One byte on each of 10000 streams: little budget, but every byte keeps a (small) block
    // alive, more than the 64 KiB allowed in all.
    bytes in;
    for (stream_id id = 3; id < 20'003; id += 2) {
        in += syn(v, id) + psh(v, id, "b");
    }
    std::size_t const took = feed(s, in);
    EXPECT_LT(took, in.size());
    EXPECT_FALSE(s.want_read());
    EXPECT_TRUE(s.is_alive());
    auto const c = s.counters();
    EXPECT_LT(c.buffered_bytes, 10'000U);
    EXPECT_LE(c.pinned_bytes, 64U * 1'024U + 4'096U);
    // Reading frees the blocks and reading resumes.
    for (stream_id id = 3; id < 20'003; id += 2) {
        if (s.readable_bytes(id) > 0) {
            bytes got;
            ASSERT_EQ(read_some(s, id, got).state, status::data);
        }
    }
    EXPECT_EQ(s.counters().pinned_bytes, 0U);
    EXPECT_TRUE(s.want_read());
}

TEST_P(budget, unread_data_of_a_closed_stream_is_given_back) {
    int const v = GetParam();
    auto cfg = make_config(v);
    cfg.max_receive_buffer = 50'000;
    cfg.max_stream_buffer = 50'000;
    session s(role::server, cfg, t0);
    bytes const in = syn(v, 3) + psh(v, 3, pattern(3, 50'000)) + syn(v, 5);
    EXPECT_EQ(feed(s, in), in.size() - 8U);
    EXPECT_FALSE(s.want_read());
    s.close_stream(3);
    EXPECT_TRUE(s.want_read());
    EXPECT_EQ(s.counters().buffered_bytes, 0U);
    EXPECT_EQ(feed(s, std::span<std::byte const>(in).last(8)), 8U);
}

INSTANTIATE_TEST_SUITE_P(versions, budget, ::testing::Values(1, 2), [](auto const& param_info) {
    return "v" + std::to_string(param_info.param);
});

TEST(budget_v1, writes_are_not_limited_by_any_window) {
    session s(role::client, make_config(1), t0);
    auto const id = open(s);
    borrowed_write w(pattern(1, 1 << 20));
    EXPECT_EQ(w.submit(s, *id).accepted, 1U << 20U);
    std::size_t payload = 0;
    for (auto const& f : take_frames(s)) {
        payload += f.h.cmd == command::psh ? f.payload.size() : 0;
    }
    EXPECT_EQ(payload, 1U << 20U);
}

// ---- v2 sender

struct v2_sender {
    session s{role::client, make_config(2), t0};
    stream_id id = 0;
    v2_sender() {
        id = *open(s);
        (void)take_output(s);
    }
    std::size_t sent_payload() {
        std::size_t n = 0;
        for (auto const& f : take_frames(s)) {
            if (f.h.cmd == command::psh) {
                EXPECT_EQ(f.h.sid, id);
                n += f.payload.size();
            }
        }
        return n;
    }
};

TEST(window_v2, sender_sends_exactly_the_initial_window_then_waits_for_an_update) {
    v2_sender t;
    borrowed_write w(pattern(1, 1 << 20));
    auto r = w.submit(t.s, t.id);
    EXPECT_EQ(r.accepted, initial_window);
    EXPECT_FALSE(r.ec);
    EXPECT_EQ(t.sent_payload(), initial_window);
    EXPECT_EQ(count_events(take_events(t.s), event::kind::write_done, t.id), 1U);

    r = w.submit(t.s, t.id);
    EXPECT_EQ(r.accepted, 0U);
    EXPECT_FALSE(r.ec);
    EXPECT_TRUE(take_output(t.s).empty());
    // An update that does not open the window raises no event.
    ASSERT_EQ(feed(t.s, upd(2, t.id, 100'000, 65'536)), 16U);
    EXPECT_TRUE(take_events(t.s).empty());
    EXPECT_EQ(w.submit(t.s, t.id).accepted, 0U);
    // One that does raises `writable`.
    ASSERT_EQ(feed(t.s, upd(2, t.id, initial_window, 65'536)), 16U);
    auto const evs = take_events(t.s);
    ASSERT_EQ(evs.size(), 1U);
    EXPECT_EQ(evs[0].what, event::kind::writable);
    EXPECT_EQ(evs[0].id, t.id);
    EXPECT_EQ(w.submit(t.s, t.id).accepted, 65'536U);
    EXPECT_EQ(t.sent_payload(), 65'536U);
    EXPECT_TRUE(t.s.is_alive());
}

TEST(window_v2, no_writable_event_without_a_refused_write) {
    v2_sender t;
    ASSERT_EQ(feed(t.s, upd(2, t.id, 0, 1 << 20)), 16U);
    EXPECT_TRUE(take_events(t.s).empty());
    borrowed_write w(pattern(1, 1 << 20));
    EXPECT_EQ(w.submit(t.s, t.id).accepted, 1U << 20U);  // the larger window is used
}

TEST(window_v2, the_latest_update_wins) {
    v2_sender t;
    borrowed_write w(pattern(1, 1 << 20));
    ASSERT_EQ(w.submit(t.s, t.id).accepted, initial_window);
    (void)t.sent_payload();
    // A smaller window than before.
    ASSERT_EQ(feed(t.s, upd(2, t.id, initial_window, 100)), 16U);
    EXPECT_EQ(w.submit(t.s, t.id).accepted, 100U);
    (void)t.sent_payload();
    // A smaller `consumed` than before is taken as is (no max): inflight 62244.
    ASSERT_EQ(feed(t.s, upd(2, t.id, 200'000, 65'536)), 16U);
    EXPECT_EQ(w.submit(t.s, t.id).accepted, 65'536U - 62'244U);
    EXPECT_TRUE(t.s.is_alive());
}

TEST(window_v2, each_stream_has_its_own_window) {
    v2_sender t;
    auto const other = *open(t.s);
    borrowed_write a(pattern(1, 300'000));
    borrowed_write b(pattern(2, 300'000));
    EXPECT_EQ(a.submit(t.s, t.id).accepted, initial_window);
    EXPECT_EQ(b.submit(t.s, other).accepted, initial_window);
    (void)take_output(t.s);
    ASSERT_EQ(feed(t.s, upd(2, t.id, initial_window, 65'536)), 16U);
    EXPECT_EQ(b.submit(t.s, other).accepted, 0U);
    EXPECT_EQ(a.submit(t.s, t.id).accepted, 65'536U);
}

TEST(window_v2, consumed_beyond_sent_ends_the_session) {
    v2_sender t;
    borrowed_write w(pattern(1, 1'000));
    ASSERT_EQ(w.submit(t.s, t.id).accepted, 1'000U);
    EXPECT_EQ(t.sent_payload(), 1'000U);
    ASSERT_EQ(feed(t.s, upd(2, t.id, 1'000, 65'536)), 16U);  // exactly all: fine
    EXPECT_TRUE(t.s.is_alive());
    ASSERT_EQ(feed(t.s, upd(2, t.id, 1'001, 65'536)), 16U);
    EXPECT_FALSE(t.s.is_alive());
    EXPECT_EQ(t.s.terminal_error(), error::invalid_window_update);
    auto const evs = take_events(t.s);
    ASSERT_FALSE(evs.empty());
    EXPECT_EQ(evs.back().what, event::kind::closed);
    EXPECT_EQ(evs.back().ec, error::invalid_window_update);
}

TEST(window_v2, consumed_on_a_stream_that_sent_nothing_ends_the_session) {
    v2_sender t;
    ASSERT_EQ(feed(t.s, upd(2, t.id, 1, 65'536)), 16U);
    EXPECT_EQ(t.s.terminal_error(), error::invalid_window_update);
}

TEST(window_v2, consumed_beyond_the_bytes_put_in_frames_ends_the_session) {
    // The peer cannot have consumed bytes that were never handed to the transport; bytes
    // accepted from the writer but not yet framed do not count.
    smux::core::session::options opts;
    opts.max_batch_bytes = 32'768;  // one frame per batch
    session s{role::client, make_config(2), t0, opts};
    auto const id = *open(s);
    (void)take_output(s);
    borrowed_write w(pattern(1, 200'000));
    ASSERT_EQ(w.submit(s, id).accepted, 200'000U);
    auto const segs = s.prepare_send();
    ASSERT_EQ(total_size(segs), 8U + 32'768U);
    ASSERT_EQ(feed(s, upd(2, id, 100'000, 65'536)), 16U);
    EXPECT_EQ(s.terminal_error(), error::invalid_window_update);
}

TEST(window_v2, bytes_in_a_write_still_in_progress_may_be_acknowledged) {
    // A transport write can deliver its first bytes, and the peer answer them, before the
    // write completes and is committed: that acknowledgement is legitimate.
    v2_sender t;
    borrowed_write w(pattern(1, 200'000));
    ASSERT_EQ(w.submit(t.s, t.id).accepted, 200'000U);
    auto const segs = t.s.prepare_send();
    ASSERT_GE(total_size(segs), 100'000U);
    ASSERT_EQ(feed(t.s, upd(2, t.id, 100'000, 65'536)), 16U);
    EXPECT_TRUE(t.s.is_alive());
    t.s.commit_send(total_size(segs));
    EXPECT_TRUE(t.s.is_alive());
}

TEST(window_v2, updates_for_unknown_or_closed_streams_are_ignored) {
    v2_sender t;
    ASSERT_EQ(feed(t.s, upd(2, 99, 12'345, 1) + upd(2, 4, 0, 0) + upd(2, 0, 7, 7)), 48U);
    EXPECT_TRUE(t.s.is_alive());
    t.s.close_stream(t.id);
    (void)take_output(t.s);
    ASSERT_EQ(feed(t.s, upd(2, t.id, 0xFFFFFFFFU, 65'536)), 16U);
    EXPECT_TRUE(t.s.is_alive());
    EXPECT_TRUE(take_events(t.s).empty());
    EXPECT_TRUE(take_output(t.s).empty());
}

TEST(window_v2, abort_write_gives_back_the_credit_of_unframed_bytes) {
    v2_sender t;
    borrowed_write w(pattern(1, 1 << 20));
    ASSERT_EQ(w.submit(t.s, t.id).accepted, initial_window);
    t.s.abort_write(t.id);
    auto evs = take_events(t.s);
    ASSERT_EQ(evs.size(), 1U);
    EXPECT_EQ(evs[0].what, event::kind::write_done);
    EXPECT_EQ(evs[0].bytes, 0U);
    EXPECT_TRUE(take_output(t.s).empty());
    EXPECT_EQ(w.submit(t.s, t.id).accepted, initial_window);  // all of it came back
    EXPECT_EQ(t.sent_payload(), initial_window);
}

TEST(window_v2, abort_write_after_some_frames_gives_back_only_the_rest) {
    smux::core::session::options opts;
    opts.max_batch_bytes = 70'000;
    session s(role::client, make_config(2), t0, opts);
    auto const id = *open(s);
    (void)take_output(s);
    borrowed_write w(pattern(1, 1 << 20));
    ASSERT_EQ(w.submit(s, id).accepted, initial_window);
    auto const segs = s.prepare_send();
    auto const frames = parse_frames(flatten(segs));
    std::size_t framed = 0;
    for (auto const& f : frames) {
        framed += f.payload.size();
    }
    ASSERT_GT(framed, 0U);
    ASSERT_LT(framed, initial_window);
    s.abort_write(id);
    EXPECT_TRUE(take_events(s).empty());  // its frames are still being written
    s.commit_send(total_size(segs));
    auto const evs = take_events(s);
    ASSERT_EQ(evs.size(), 1U);
    EXPECT_EQ(evs[0].what, event::kind::write_done);
    EXPECT_EQ(evs[0].bytes, framed);
    EXPECT_TRUE(take_output(s).empty());  // no PSH of the dropped bytes
    EXPECT_EQ(w.submit(s, id).accepted, initial_window - framed);
}

// ---- v2 receiver

struct v2_receiver {
    session s;
    explicit v2_receiver(std::int64_t max_stream_buffer)
        : s(
              role::server,
              [&] {
                  auto c = make_config(2);
                  c.max_stream_buffer = max_stream_buffer;
                  return c;
              }(),
              t0) {
        EXPECT_EQ(feed(s, syn(2, 3)), 8U);
    }
    void push(std::size_t n) {
        bytes const f = psh(2, 3, pattern(n, n));
        EXPECT_EQ(feed(s, f), f.size());
    }
    /// Reads exactly n bytes and returns the frames this read produced.
    std::vector<parsed_frame> read(std::size_t n) {
        bytes got;
        EXPECT_EQ(read_some(s, 3, got, n).bytes, n);
        return take_frames(s);
    }
};

void expect_update(std::vector<parsed_frame> const& frames, std::uint32_t consumed,
                   std::uint32_t window) {
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].h, (frame_header{2, command::upd, 8, 3}));
    EXPECT_EQ(frames[0].update(), (smux::core::window_update{consumed, window}));
}

TEST(window_v2, receiver_updates_on_the_first_read_then_every_half_window) {
    v2_receiver r(65'536);
    r.push(60'000);
    EXPECT_TRUE(take_output(r.s).empty());  // arriving data alone never sends UPD
    expect_update(r.read(5), 5, 65'536);    // first read (V14)
    EXPECT_TRUE(r.read(10'000).empty());
    EXPECT_TRUE(r.read(22'767).empty());  // 32767 since the last UPD
    expect_update(r.read(1), 32'773, 65'536);
    EXPECT_TRUE(r.read(100).empty());  // not a first read any more
    r.push(60'000);
    EXPECT_TRUE(r.read(27'127).empty());
    EXPECT_TRUE(r.read(5'540).empty());             // 32767
    expect_update(r.read(10'000), 75'540, 65'536);  // overshoot is fine, incr starts again
    EXPECT_TRUE(r.read(32'767).empty());
    expect_update(r.read(1), 108'308, 65'536);
    EXPECT_TRUE(r.s.is_alive());
}

TEST(window_v2, receiver_threshold_is_half_the_window_rounded_down) {
    v2_receiver r(1'001);  // threshold 500
    r.push(2'000);
    expect_update(r.read(1), 1, 1'001);
    EXPECT_TRUE(r.read(499).empty());
    expect_update(r.read(1), 501, 1'001);
    expect_update(r.read(500), 1'001, 1'001);
    expect_update(r.read(999), 2'000, 1'001);
}

TEST(window_v2, receiver_with_a_one_byte_window_updates_after_every_read) {
    v2_receiver r(1);  // threshold 0
    r.push(10);
    for (std::uint32_t i = 1; i <= 10; ++i) {
        expect_update(r.read(1), i, 1);
    }
}

TEST(window_v2, receiver_buffers_the_initial_window_whatever_its_own_setting) {
    v2_receiver r(1'024);
    for (int i = 0; i < 8; ++i) {
        r.push(32'768);  // initial_window unread: allowed before the first UPD took effect
    }
    EXPECT_TRUE(r.s.is_alive());
    EXPECT_EQ(r.s.readable_bytes(3), initial_window);
}

TEST(window_v2, sending_past_the_initial_window_ends_the_session) {
    v2_receiver r(65'536);
    for (int i = 0; i < 8; ++i) {
        r.push(32'768);
    }
    EXPECT_TRUE(r.s.is_alive());
    bytes const over = psh(2, 3, "!");
    EXPECT_EQ(feed(r.s, over), over.size());
    EXPECT_FALSE(r.s.is_alive());
    EXPECT_EQ(r.s.terminal_error(), error::window_overrun);
    auto const evs = take_events(r.s);
    ASSERT_FALSE(evs.empty());
    EXPECT_EQ(evs.back().what, event::kind::closed);
    EXPECT_EQ(evs.back().ec, error::window_overrun);
}

TEST(window_v2, overrun_is_judged_against_the_initial_window_before_any_update) {
    // Before this side's first UPD the peer's window is the constant initial_window, whatever this
    // side's max_stream_buffer (docs/protocol.md §6.2): one byte more is an overrun.
    v2_receiver r(1 << 20);
    for (int i = 0; i < 8; ++i) {
        r.push(32'768);
    }
    EXPECT_TRUE(r.s.is_alive());
    EXPECT_EQ(feed(r.s, psh(2, 3, "!")), 9U);
    EXPECT_EQ(r.s.terminal_error(), error::window_overrun);
}

TEST(window_v2, overrun_counts_what_the_peer_was_allowed_not_what_is_buffered) {
    // The only UPD says consumed 100, window 65536: the peer may have sent
    // max(initial_window, 100 + 65536) bytes in all; byte initial_window + 1 is past every
    // window it was given, even though 100 of the bytes were read.
    v2_receiver r(65'536);
    r.push(100);
    expect_update(r.read(100), 100, 65'536);
    for (int i = 0; i < 8; ++i) {
        r.push(32'755);
    }
    r.push(initial_window - 100 - 8 * 32'755);
    EXPECT_TRUE(r.s.is_alive());
    EXPECT_EQ(r.s.readable_bytes(3), initial_window - 100);
    EXPECT_EQ(feed(r.s, psh(2, 3, "!")), 9U);
    EXPECT_EQ(r.s.terminal_error(), error::window_overrun);
}

// ---- u32 wrap-around

TEST(window_v2_wrap, sender_counters_wrap_past_four_gib) {
    auto cfg = make_config(2);
    cfg.max_frame_size = 65'535;
    session s(role::client, cfg, t0);
    stream_id const id = *open(s);
    (void)take_output(s);

    bytes const block = pattern(77, 1 << 20);
    std::vector<std::span<std::byte const>> spans(1'024, std::span<std::byte const>(block));
    std::uint64_t total = 0;
    std::uint64_t const before_wrap = (1ULL << 32U) - 100;
    constexpr std::uint32_t big_window = 1U << 30U;
    // The peer acknowledges everything and grants 1 GiB each round (nothing is copied: the
    // gather list points into `block`).
    while (total < before_wrap) {
        ASSERT_EQ(feed(s, upd(2, id, static_cast<std::uint32_t>(total), big_window)), 16U);
        std::uint64_t const want = std::min<std::uint64_t>(big_window, before_wrap - total);
        std::size_t const full = static_cast<std::size_t>(want >> 20U);
        std::vector<std::span<std::byte const>> src(
            spans.begin(), spans.begin() + static_cast<std::ptrdiff_t>(full));
        if (std::size_t const tail = static_cast<std::size_t>(want & 0xFFFFFU); tail > 0) {
            src.emplace_back(block.data(), tail);
        }
        auto const r = s.write(id, src);
        ASSERT_EQ(r.accepted, want);
        std::uint64_t flushed = 0;
        for (int guard = 0; guard < 10'000 && flushed == 0; ++guard) {
            auto const segs = s.prepare_send();
            ASSERT_FALSE(segs.empty());
            s.commit_send(total_size(segs));
            for (auto const& e : take_events(s)) {
                if (e.what == event::kind::write_done) {
                    flushed = e.bytes;
                }
            }
        }
        ASSERT_EQ(flushed, want);
        total += want;
    }
    ASSERT_TRUE(s.is_alive());
    // Every byte on the wire is a header or payload of this stream (no frame lost or doubled).
    auto const c = s.counters();
    EXPECT_EQ(c.bytes_sent, 8U * c.frames_sent + total);
    EXPECT_GT(c.frames_sent, total / 65'535);

    // sent = 0xFFFFFF9C: a 64 KiB window crosses the wrap.
    ASSERT_EQ(feed(s, upd(2, id, 0xFFFFFF9CU, 65'536)), 16U);
    borrowed_write w(pattern(5, 1 << 20));
    ASSERT_EQ(w.submit(s, id).accepted, 65'536U);  // sent is 65436 now
    bytes payload;
    for (auto const& f : take_frames(s)) {
        payload += f.payload;
    }
    EXPECT_EQ(payload, bytes(w.data.begin(), w.data.begin() + 65'536));
    (void)take_events(s);
    EXPECT_EQ(w.submit(s, id).accepted, 0U);  // inflight 65536 across the wrap
    // consumed not wrapped yet while sent is: 84 bytes acknowledged, 84 bytes of room.
    ASSERT_EQ(feed(s, upd(2, id, 0xFFFFFFF0U, 65'536)), 16U);
    ASSERT_TRUE(s.is_alive());
    EXPECT_EQ(count_events(take_events(s), event::kind::writable, id), 1U);
    EXPECT_EQ(w.submit(s, id).accepted, 84U);
    (void)take_output(s);
    (void)take_events(s);
    EXPECT_EQ(w.submit(s, id).accepted, 0U);
    // consumed wrapped too: everything acknowledged, the whole window opens again.
    ASSERT_EQ(feed(s, upd(2, id, 65'520, 65'536)), 16U);
    EXPECT_TRUE(s.is_alive());
    EXPECT_EQ(count_events(take_events(s), event::kind::writable, id), 1U);
    EXPECT_EQ(w.submit(s, id).accepted, 65'536U);
    (void)take_output(s);
    // One byte more than was sent, after the wrap: still detected.
    ASSERT_EQ(feed(s, upd(2, id, 65'520 + 65'536 + 1, 65'536)), 16U);
    EXPECT_EQ(s.terminal_error(), error::invalid_window_update);
}

TEST(window_v2_wrap, receiver_counters_wrap_past_four_gib) {
    // V16 itself needs a receiver preset near 2^32 with a 64-byte window; an honest peer would
    // need 2^26 round trips to get there. This drives 4 GiB through an honest window with
    // max_stream_buffer 2^18 instead and checks the same rules at the wrap: consumed is
    // cumulative mod 2^32, the UPD whose consumed would be 0 is not sent, and the first read
    // after an exact wrap sends a UPD (consumed 16, as in V16).
    constexpr std::uint32_t window = 1U << 18U;
    constexpr std::uint32_t frame = 1U << 15U;
    auto cfg = make_config(2);
    cfg.max_stream_buffer = window;
    session s(role::server, cfg, t0);
    ASSERT_EQ(feed(s, syn(2, 7)), 8U);

    // The peer: Go's sender rule with u32 counters.
    std::uint32_t peer_sent = 0;
    std::uint32_t peer_consumed = 0;
    std::uint32_t peer_window = initial_window;
    auto allowed = [&] {
        return static_cast<std::int32_t>(peer_window) -
               static_cast<std::int32_t>(peer_sent - peer_consumed);
    };
    std::vector<smux::core::window_update> updates;
    auto collect = [&] {
        if (!s.want_write()) {
            return;
        }
        for (auto const& f : take_frames(s)) {
            ASSERT_EQ(f.h.cmd, command::upd);
            ASSERT_EQ(f.h.sid, 7U);
            auto const u = f.update();
            ASSERT_GE(static_cast<std::int32_t>(peer_sent - u.consumed), 0);
            peer_consumed = u.consumed;
            peer_window = u.window;
            updates.push_back(u);
        }
    };

    // Four connection blocks used in turn; payload views into them are not copied. A block
    // is rewritten only after the engine let go of it.
    std::array<smux::core::rx_buffer_ptr, 4> blocks;
    auto const payload = pattern(16, frame);
    for (auto& b : blocks) {
        b = smux::core::rx_buffer_ptr::allocate(8 + frame);
        b->set_size(8 + frame);
        std::copy(payload.begin(), payload.end(), b->data() + 8);
    }
    std::size_t next_block = 0;
    auto send_frame = [&](std::uint32_t len) {
        ASSERT_GE(allowed(), static_cast<std::int32_t>(len)) << "the peer would wait here";
        auto& blk = blocks[next_block++ % blocks.size()];
        ASSERT_EQ(blk->use_count(), 1U);
        auto const h =
            smux::core::encode_header({2, command::psh, static_cast<std::uint16_t>(len), 7});
        std::copy(h.begin(), h.end(), blk->data());
        ASSERT_EQ(s.receive(smux::core::rx_chunk{blk, 0, 8 + len}), 8U + len);
        peer_sent += len;
    };
    bytes out(frame * 4);
    auto read_exact = [&](std::size_t n) {
        std::array<std::span<std::byte>, 1> dst{std::span<std::byte>(out.data(), n)};
        auto const r = s.read(7, dst);
        ASSERT_EQ(r.state, status::data);
        ASSERT_EQ(r.bytes, n);
    };

    // First read of 131072 bytes: UPD{131072}, then one UPD per 131072 bytes read.
    for (int i = 0; i < 4; ++i) {
        send_frame(frame);
    }
    read_exact(4 * frame);
    collect();
    ASSERT_EQ(updates.size(), 1U);
    std::uint64_t read_total = 4 * frame;
    while (read_total < (1ULL << 32U)) {
        send_frame(frame);
        read_exact(frame);
        read_total += frame;
        collect();
        if (HasFatalFailure()) {
            return;
        }
        std::size_t const expected =
            read_total < (1ULL << 32U) ? read_total / (window / 2) : 32'767;
        ASSERT_EQ(updates.size(), expected) << "after " << read_total << " bytes";
        if (read_total % (window / 2) == 0 && read_total < (1ULL << 32U)) {
            ASSERT_EQ(updates.back().consumed, static_cast<std::uint32_t>(read_total));
            ASSERT_EQ(updates.back().window, window);
        }
    }
    EXPECT_TRUE(s.is_alive());
    // 2^32 bytes read: the threshold was reached with consumed == 0, so nothing was sent.
    EXPECT_EQ(updates.back().consumed, 0xFFFE0000U);
    EXPECT_TRUE(take_output(s).empty());

    // Sixteen more bytes: the read counter was 0 before this read, so it is announced
    // although far below the threshold.
    send_frame(16);
    read_exact(16);
    EXPECT_EQ(take_output(s), from_hex("02 04 0800 07000000 10000000 00000400"));
    EXPECT_TRUE(s.is_alive());
}

}  // namespace

namespace {

/// Feeds `n` bytes of PSH on stream 3 to a v2 receiver, lets it read everything, and returns
/// the window of the UPD it sends (0 when it sends none).
std::uint32_t deliver_and_read(session& s, std::size_t n, std::uint32_t& sent_so_far) {
    bytes const data = pattern(9, n, sent_so_far);
    for (std::size_t off = 0; off < n; off += 32'768) {
        auto const piece =
            std::span<std::byte const>(data).subspan(off, std::min<std::size_t>(32'768, n - off));
        EXPECT_EQ(feed(s, psh(2, 3, piece)), 8U + piece.size());
    }
    sent_so_far += static_cast<std::uint32_t>(n);
    bytes got;
    read_some(s, 3, got, n);
    std::uint32_t window = 0;
    for (auto const& f : take_frames(s)) {
        if (f.h.cmd == command::upd) {
            window = f.update().window;
        }
    }
    return window;
}

}  // namespace

TEST(window_autotune, a_reader_that_keeps_up_gets_a_growing_window_up_to_a_quarter_budget) {
    auto cfg = make_config(2);
    cfg.stream_window_autotune = true;
    session s(role::server, cfg, t0);
    ASSERT_EQ(feed(s, syn(2, 3)), 8U);
    ASSERT_TRUE(accept(s));
    std::uint32_t sent = 0;
    std::uint32_t window = 65'536;
    std::vector<std::uint32_t> advertised;
    for (int i = 0; i < 12; ++i) {
        // Always within what was granted so far: half the current window per round.
        if (auto w = deliver_and_read(s, window / 2, sent); w != 0) {
            advertised.push_back(w);
            window = w;
        }
    }
    ASSERT_FALSE(advertised.empty());
    EXPECT_EQ(advertised.front(), 131'072U);  // doubled at the first update
    EXPECT_EQ(advertised.back(), 4'194'304U / 4);
    for (std::size_t i = 1; i < advertised.size(); ++i) {
        EXPECT_GE(advertised[i], advertised[i - 1]);
    }
    EXPECT_TRUE(s.is_alive());
}

TEST(window_autotune, a_lagging_reader_keeps_the_configured_window) {
    auto cfg = make_config(2);
    cfg.stream_window_autotune = true;
    session s(role::server, cfg, t0);
    bytes const data = pattern(1, 96'000);
    ASSERT_EQ(feed(s, syn(2, 3)), 8U);
    for (std::size_t off = 0; off < data.size(); off += 32'000) {
        ASSERT_EQ(feed(s, psh(2, 3, std::span<std::byte const>(data).subspan(off, 32'000))),
                  32'008U);
    }
    ASSERT_TRUE(accept(s));
    bytes got;
    read_some(s, 3, got, 40'000);  // leaves 56000 buffered: the reader is behind
    auto frames = take_frames(s);
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].h.cmd, command::upd);
    EXPECT_EQ(frames[0].update().window, 65'536U);
}

TEST(window_autotune, off_by_default_so_updates_are_gos) {
    session s(role::server, make_config(2), t0);
    ASSERT_EQ(feed(s, syn(2, 3)), 8U);
    ASSERT_TRUE(accept(s));
    std::uint32_t sent = 0;
    for (int i = 0; i < 6; ++i) {
        auto const w = deliver_and_read(s, 32'768, sent);
        EXPECT_EQ(w, 65'536U) << "round " << i;
    }
}
