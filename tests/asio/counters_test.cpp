// The session's counters snapshot: one type (smux::session_counters, alias session_stats),
// published on the strand and read from any thread without tearing.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <smux/detail/counters_snapshot.hpp>
#include <thread>

#include "support/asio_harness.hpp"

namespace {

using namespace smux_test;

/// Every field set to `v`: a reader that sees fields of two publications sees them differ.
using words = std::array<std::uint64_t, sizeof(smux::session_counters) / 8>;

smux::session_counters all(std::uint64_t v) {
    words w{};
    w.fill(v);
    return std::bit_cast<smux::session_counters>(w);
}

bool uniform(smux::session_counters const& c) {
    auto const w = std::bit_cast<words>(c);
    return std::all_of(w.begin(), w.end(), [&](std::uint64_t x) { return x == w[0]; });
}

TEST(counters_snapshot, a_reader_never_sees_half_of_a_publication) {
    smux::detail::counters_snapshot snapshot;
    EXPECT_TRUE(uniform(snapshot.load()));
    EXPECT_EQ(snapshot.load().frames_sent, 0U);

    constexpr std::uint64_t publications = 200'000;
    std::atomic<bool> done{false};
    std::uint64_t torn = 0;
    std::uint64_t last = 0;
    bool monotonic = true;
    std::thread reader([&] {
        while (!done.load(std::memory_order_acquire)) {
            auto const c = snapshot.load();
            torn += uniform(c) ? 0 : 1;
            monotonic = monotonic && c.bytes_received >= last;
            last = c.bytes_received;
        }
    });
    for (std::uint64_t v = 1; v <= publications; ++v) {
        snapshot.publish(all(v));
    }
    done.store(true, std::memory_order_release);
    reader.join();
    EXPECT_EQ(torn, 0U);
    EXPECT_TRUE(monotonic);
    EXPECT_EQ(snapshot.load().streams_open, publications);
}

TEST(counters_snapshot, the_session_publishes_after_every_step) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(2));
    auto pair = open_pair_now(ioc, p.client, p.server);
    ASSERT_TRUE(pair);
    smux::session_stats const c = p.client.stats();
    EXPECT_EQ(c.streams_opened, 1U);
    EXPECT_EQ(c.streams_open, 1U);
    smux::session_counters const s = p.server.stats();  // the same type under both names
    EXPECT_EQ(s.streams_accepted, 1U);
    EXPECT_EQ(s.frames_received, c.frames_sent);
}

class stream_stats_asio : public stream_pair_test<::testing::TestWithParam<int>> {};

TEST_P(stream_stats_asio, a_stream_reports_its_counters_on_the_strand) {
    ASSERT_TRUE(open(quiet_config(GetParam())));
    std::string const text = "twelve bytes";
    capture<smux::error_code, std::size_t> w;
    asio::async_write(c, asio::buffer(text), w.handler());
    ASSERT_TRUE(run_until(ioc, w.ready()));
    ASSERT_FALSE(w.get<0>());
    ASSERT_TRUE(run_until(ioc, [&] { return stats_now(ioc, s).buffered_bytes == text.size(); }));

    auto const sent = stats_now(ioc, c);
    EXPECT_EQ(sent.bytes_sent, text.size());
    EXPECT_GE(sent.frames_sent, 2U) << "SYN and at least one PSH";
    EXPECT_EQ(sent.state, smux::stream_state::open);
    auto const got = stats_now(ioc, s);
    EXPECT_EQ(got.bytes_received, text.size());
    EXPECT_EQ(got.frames_received, sent.frames_sent);

    c.shutdown_send();
    ASSERT_TRUE(
        run_until(ioc, [&] { return stats_now(ioc, s).state == smux::stream_state::read_closed; }));
    EXPECT_EQ(stats_now(ioc, c).state, smux::stream_state::write_closed);
}

TEST_P(stream_stats_asio, off_the_strand_or_after_close_it_fails_clearly) {
    ASSERT_TRUE(open(quiet_config(GetParam())));
    smux::error_code ec;
    (void)c.stats(ec);  // the test thread is not the session's strand
    EXPECT_EQ(ec, smux::error::not_on_strand);
    c.close();
    (void)c.stats(ec);
    EXPECT_EQ(ec, smux::error::stream_closed);
}

INSTANTIATE_TEST_SUITE_P(versions, stream_stats_asio, ::testing::Values(1, 2), version_name);

TEST(session_stats_age, since_last_frame_counts_from_the_newest_frame) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(2));
    auto pair = open_pair_now(ioc, p.client, p.server);
    ASSERT_TRUE(pair);
    auto const before_write = std::chrono::steady_clock::now();
    std::uint64_t const frames = p.server.stats().frames_received;
    std::string const text = "x";
    capture<smux::error_code, std::size_t> w;
    asio::async_write(pair->first, asio::buffer(text), w.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return p.server.stats().frames_received > frames; }));
    auto const age = std::chrono::nanoseconds(p.server.stats().since_last_frame_ns);
    // The frame arrived after before_write, so its age is at most the time since then.
    EXPECT_LE(age, std::chrono::steady_clock::now() - before_write);
    // And it only grows while nothing arrives (keep-alives are off in quiet_config).
    auto const later = std::chrono::nanoseconds(p.server.stats().since_last_frame_ns);
    EXPECT_GE(later, age);
}

}  // namespace
