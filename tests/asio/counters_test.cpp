// The session's counters snapshot: one type (smux::session_counters, alias session_stats),
// published on the strand and read from any thread without tearing.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <smux/detail/counters_snapshot.hpp>
#include <thread>

#include "support/asio_harness.hpp"

namespace {

using namespace smux_test;

/// Every field set to `v`: a reader that sees fields of two publications sees them differ.
smux::session_counters all(std::uint64_t v) {
    smux::session_counters c;
    c.bytes_received = c.bytes_sent = c.frames_received = c.frames_sent = v;
    c.streams_opened = c.streams_accepted = c.streams_refused = c.streams_open = v;
    c.buffered_bytes = c.pinned_bytes = v;
    return c;
}

bool uniform(smux::session_counters const& c) {
    std::uint64_t const v = c.bytes_received;
    return c.bytes_sent == v && c.frames_received == v && c.frames_sent == v &&
           c.streams_opened == v && c.streams_accepted == v && c.streams_refused == v &&
           c.streams_open == v && c.buffered_bytes == v && c.pinned_bytes == v;
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

}  // namespace
