// Malformed input (docs/protocol.md §9, newest Go rules): each ends the session with its own
// error and a `closed` event, nothing after the bad header is acted on, and the session's end
// is visible through every later call.

#include <gtest/gtest.h>

#include <smux/core/session.hpp>
#include <smux/error.hpp>
#include <string>

#include "support/core_frames.hpp"

namespace {

using namespace core_test;
using smux::error;
using smux::core::session;
using status = read_result::status;

struct malformed_case {
    char const* name;
    int version;
    char const* hex;
    error expected;
};

class malformed : public ::testing::TestWithParam<malformed_case> {};

/// A server with stream 3 (peer data "kept" buffered) and stream 2 (own, write pending).
struct victim {
    session s;
    borrowed_write pending{pattern(9, 100'000)};

    explicit victim(int v) : s(role::server, make_config(v), t0) {
        EXPECT_EQ(feed(s, syn(v, 3) + psh(v, 3, "kept")), 20U);
        EXPECT_EQ(accept(s), 3U);
        EXPECT_EQ(open(s), 2U);
        EXPECT_EQ(pending.submit(s, 2).accepted, 100'000U);
        (void)take_events(s);
    }
};

void expect_ended(session& s, smux::error_code expected) {
    EXPECT_FALSE(s.is_alive());
    EXPECT_EQ(s.terminal_error(), expected);
    EXPECT_FALSE(s.want_read());
    auto const evs = take_events(s);
    ASSERT_FALSE(evs.empty());
    EXPECT_EQ(evs.back().what, event::kind::closed);
    EXPECT_EQ(evs.back().ec, expected);
    EXPECT_EQ(count_events(evs, event::kind::closed), 1U);

    // Buffered data first, then the terminal error, again and again.
    auto const r = read_all(s, 3);
    EXPECT_EQ(r.data, to_bytes("kept"));
    EXPECT_EQ(r.last.state, status::failed);
    EXPECT_EQ(r.last.ec, expected);
    bytes more;
    EXPECT_EQ(read_some(s, 3, more).ec, expected);

    borrowed_write w(to_bytes("x"));
    auto const wr = w.submit(s, 3);
    EXPECT_EQ(wr.accepted, 0U);
    EXPECT_EQ(wr.ec, expected);
    smux::error_code ec;
    EXPECT_FALSE(s.open_stream(ec));
    EXPECT_EQ(ec, expected);
    EXPECT_FALSE(s.accept_stream(ec));
    EXPECT_EQ(ec, expected);
    EXPECT_EQ(s.close_write(3), expected);

    // The connection is finished: nothing more goes out, no timer is due, input is swallowed.
    EXPECT_TRUE(take_output(s).empty());
    EXPECT_FALSE(s.want_write());
    EXPECT_FALSE(s.next_timer());
    s.on_timer(t0 + std::chrono::hours(1));
    EXPECT_TRUE(take_output(s).empty());
    bytes const later = syn(1, 5) + syn(2, 5);
    EXPECT_EQ(feed(s, later), later.size());
    EXPECT_TRUE(take_events(s).empty());  // no event after `closed`
}

TEST_P(malformed, ends_the_session_with_its_error) {
    auto const& c = GetParam();
    victim v(c.version);
    bytes const bad = from_hex(c.hex);
    // A valid SYN right after the bad frame must not be acted on.
    bytes const in = bad + syn(c.version, 5);
    EXPECT_EQ(feed(v.s, in), in.size());
    expect_ended(v.s, c.expected);
}

TEST_P(malformed, ends_the_session_when_fed_one_byte_at_a_time) {
    auto const& c = GetParam();
    victim v(c.version);
    bytes const in = from_hex(c.hex) + syn(c.version, 5);
    std::size_t const header_end = 8;
    for (std::size_t i = 0; i < in.size(); ++i) {
        EXPECT_EQ(v.s.receive(std::span<std::byte const>(&in[i], 1)), 1U);
        // The error is found as soon as the header is complete.
        EXPECT_EQ(v.s.is_alive(), i + 1 < header_end) << "after byte " << i;
    }
    expect_ended(v.s, c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    protocol_md, malformed,
    ::testing::Values(
        malformed_case{"v2_frame_in_v1", 1, "02 00 0000 03000000", error::invalid_version},
        malformed_case{"v1_frame_in_v2", 2, "01 02 0100 03000000 61", error::invalid_version},
        malformed_case{"version_0", 1, "00 03 0000 00000000", error::invalid_version},
        malformed_case{"version_ff", 2, "ff 03 0000 00000000", error::invalid_version},
        malformed_case{"cmd_5_v1", 1, "01 05 0000 03000000", error::unknown_command},
        malformed_case{"cmd_5_v2", 2, "02 05 0000 03000000", error::unknown_command},
        malformed_case{"cmd_ff", 2, "02 ff 0000 03000000", error::unknown_command},
        malformed_case{"upd_in_v1", 1, "01 04 0800 03000000 0000000000000100",
                       error::unexpected_update},
        malformed_case{"syn_with_payload", 1, "01 00 0800 03000000 0100000005000000",
                       error::invalid_frame_length},
        malformed_case{"syn_with_payload_v2", 2, "02 00 0100 05000000 00",
                       error::invalid_frame_length},
        malformed_case{"fin_with_payload", 1, "01 01 0100 03000000 00",
                       error::invalid_frame_length},
        malformed_case{"nop_with_payload", 2, "02 03 0400 00000000 00000000",
                       error::invalid_frame_length},
        malformed_case{"upd_short", 2, "02 04 0400 03000000 05000000", error::invalid_frame_length},
        malformed_case{"upd_long", 2, "02 04 0900 03000000 050000000000010000",
                       error::invalid_frame_length},
        malformed_case{"upd_empty", 2, "02 04 0000 03000000", error::invalid_frame_length}),
    [](auto const& param_info) { return std::string(param_info.param.name); });

TEST(protocol_error, hidden_frames_inside_a_bad_payload_are_not_acted_on) {
    // v1.5.16 parsed this payload as a SYN for stream 5 (docs/protocol.md §9); the newest rules
    // fail.
    session s(role::server, make_config(1), t0);
    bytes const in = header(1, 0, 8, 3) + syn(1, 5);
    EXPECT_EQ(feed(s, in), in.size());
    EXPECT_EQ(s.terminal_error(), error::invalid_frame_length);
    EXPECT_EQ(s.counters().streams_accepted, 0U);
    smux::error_code ec;
    EXPECT_FALSE(s.accept_stream(ec));
    EXPECT_EQ(ec, error::invalid_frame_length);
}

TEST(protocol_error, streams_queued_before_the_error_are_still_handed_out) {
    session s(role::server, make_config(2), t0);
    bytes const in = syn(2, 3) + syn(2, 5) + psh(2, 5, "five") + fin(2, 5) + header(2, 9, 0, 0);
    EXPECT_EQ(feed(s, in), in.size());
    EXPECT_EQ(s.terminal_error(), error::unknown_command);
    smux::error_code ec;
    EXPECT_EQ(s.accept_stream(ec), 3U);
    EXPECT_FALSE(ec);
    EXPECT_EQ(s.accept_stream(ec), 5U);
    EXPECT_FALSE(s.accept_stream(ec));
    EXPECT_EQ(ec, error::unknown_command);
    // A stream whose FIN arrived before the error still ends with end_of_stream.
    auto const r5 = read_all(s, 5);
    EXPECT_EQ(r5.data, to_bytes("five"));
    EXPECT_EQ(r5.last.state, status::end_of_stream);
    auto const r3 = read_all(s, 3);
    EXPECT_TRUE(r3.data.empty());
    EXPECT_EQ(r3.last.state, status::failed);
    EXPECT_EQ(r3.last.ec, error::unknown_command);
}

TEST(protocol_error, a_waiting_reader_and_acceptor_learn_of_the_end) {
    session s(role::server, make_config(1), t0);
    EXPECT_EQ(feed(s, syn(1, 3)), 8U);
    EXPECT_EQ(accept(s), 3U);
    bytes got;
    EXPECT_EQ(read_some(s, 3, got).state, status::would_block);
    EXPECT_FALSE(accept(s));
    EXPECT_EQ(feed(s, header(2, 3, 0, 0)), 8U);
    auto const evs = take_events(s);
    ASSERT_FALSE(evs.empty());
    EXPECT_EQ(evs.back().what, event::kind::closed);
    EXPECT_EQ(evs.back().ec, error::invalid_version);
    auto const r = read_some(s, 3, got);
    EXPECT_EQ(r.state, status::failed);
    EXPECT_EQ(r.ec, error::invalid_version);
}

// A peer of the other version learns why the connection closes: the first frame of another
// version is answered with one NOP of ours, then nothing.
class version_mismatch : public ::testing::TestWithParam<int> {};

TEST_P(version_mismatch, the_peers_first_frame_gets_one_nop_of_this_version) {
    int const v = GetParam();
    int const other = 3 - v;
    session s(role::server, make_config(v), t0);
    EXPECT_EQ(feed(s, syn(other, 3)), 8U);
    EXPECT_EQ(s.terminal_error(), error::invalid_version);
    EXPECT_TRUE(s.want_write()) << "the farewell NOP";
    EXPECT_EQ(take_output(s), nop(v));
    EXPECT_FALSE(s.want_write());
    EXPECT_EQ(s.counters().keepalives_sent, 1U);
}

TEST_P(version_mismatch, a_later_frame_of_another_version_gets_nothing) {
    int const v = GetParam();
    session s(role::server, make_config(v), t0);
    EXPECT_EQ(feed(s, nop(v) + syn(3 - v, 3)), 16U);
    EXPECT_EQ(s.terminal_error(), error::invalid_version);
    EXPECT_FALSE(s.want_write()) << "the peer spoke our version before: a protocol error";
    EXPECT_TRUE(take_output(s).empty());
}

TEST_P(version_mismatch, nothing_is_added_while_a_batch_is_being_written) {
    int const v = GetParam();
    session s(role::client, make_config(v), t0);
    ASSERT_TRUE(open(s));
    ASSERT_FALSE(s.prepare_send().empty());  // handed to the transport, not yet committed
    EXPECT_EQ(feed(s, nop(3 - v)), 8U);
    EXPECT_EQ(s.terminal_error(), error::invalid_version);
    EXPECT_FALSE(s.want_write()) << "the transport may still be reading the batch's memory";
}

INSTANTIATE_TEST_SUITE_P(versions, version_mismatch, ::testing::Values(1, 2));

TEST(local_close, behaves_like_a_terminal_error) {
    victim v(2);
    v.s.close(error::session_closed);
    expect_ended(v.s, smux::make_error_code(error::session_closed));
}

TEST(local_close, connection_end_is_reported_as_given) {
    victim v(1);
    v.s.close(error::connection_closed);
    v.s.close(error::session_closed);  // the first reason stays
    expect_ended(v.s, smux::make_error_code(error::connection_closed));
}

TEST(local_close, no_write_done_after_closed) {
    victim v(1);
    auto const segs = v.s.prepare_send();
    ASSERT_GT(total_size(segs), 100U);
    v.s.commit_send(50);
    v.s.close(error::session_closed);
    v.s.commit_send(50);  // the abandoned batch: late commits change nothing
    auto const evs = take_events(v.s);
    ASSERT_EQ(evs.size(), 1U);
    EXPECT_EQ(evs[0].what, event::kind::closed);
    EXPECT_TRUE(take_output(v.s).empty());
}

}  // namespace
