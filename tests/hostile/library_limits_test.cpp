// Hostile peers against smux::tcp_session in process, where the application's behaviour is
// part of the attack: an application that does not accept (the accept backlog and the stream
// limit hold, streams come out of accept in order, refused SYNs get a FIN), one that does not
// read (the window and the receive budget hold; a session paused by its own limits is not timed
// out), and PSH frames for streams that do not exist (dropped without charging the budget).

#include <gtest/gtest.h>

#include <asio/steady_timer.hpp>

#include "hostile_support.hpp"

namespace {

using namespace smux_hostile;

/// A server session on 127.0.0.1 whose peer is a raw attacker; counters sampled after every
/// event-loop step.
class attacked_session : public watched_loop {
  public:
    attacked_session(asio::io_context& ioc, smux::config const& cfg)
        : ioc_(ioc),
          cfg_(cfg),
          acceptor_(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
          attacker_(ioc, cfg.version, static_cast<std::size_t>(cfg.max_frame_size)) {}

    ::testing::AssertionResult start() {
        if (auto r = attacker_.connect(acceptor_.local_endpoint()); !r) {
            return r;
        }
        tcp::socket s = acceptor_.accept();  // already established in the kernel
        s.set_option(tcp::no_delay(true));
        server_ = std::make_unique<smux::tcp_session>(smux::role::server, std::move(s), cfg_);
        server_->async_wait_closed(closed_.handler());
        return ::testing::AssertionSuccess();
    }

    raw_peer& attacker() noexcept { return attacker_; }
    smux::tcp_session& server() noexcept { return *server_; }
    capture<smux::error_code>& closed() noexcept { return closed_; }
    smux::session_stats const& stats() const noexcept { return last_; }
    std::uint64_t max_buffered() const noexcept { return max_buffered_; }
    std::uint64_t max_open() const noexcept { return max_open_; }

    void sample() override {
        last_ = server_->stats();
        max_buffered_ = std::max(max_buffered_, last_.buffered_bytes);
        max_open_ = std::max(max_open_, last_.streams_open);
    }

    /// Runs every ready handler until none is left (nothing can happen without new input).
    void settle() {
        while (ioc_.poll() > 0) {
            sample();
        }
        ioc_.restart();
        sample();
    }

    /// Lets `d` pass while the session runs: observing that something does NOT happen.
    ::testing::AssertionResult observe_for(clock::duration d) {
        asio::steady_timer t(ioc_, d);
        bool passed = false;
        t.async_wait([&](smux::error_code) { passed = true; });
        // allowed-sleep: showing that something does NOT happen (a keep-alive end) takes time
        return run([&] { return passed; }, "an observation window");
    }

    /// The bounds of SECURITY.md, over every sample taken.
    void check_bounds() {
        sample();
        EXPECT_LE(max_buffered_, static_cast<std::uint64_t>(cfg_.max_receive_buffer + 65'535));
        EXPECT_LE(max_open_, static_cast<std::uint64_t>(cfg_.max_streams));
    }

    ::testing::AssertionResult close() {
        attacker_.close();
        if (server_) {
            server_->close();
            return run([&] { return closed_.done; }, "the session's end");
        }
        return ::testing::AssertionSuccess();
    }

  private:
    // watched_loop: the session's frame and stream counters are its own work.
    asio::io_context& loop() override { return ioc_; }
    [[nodiscard]] std::uint64_t own_progress() const override {
        return last_.frames_received + last_.frames_sent + last_.streams_accepted +
               last_.streams_refused;
    }
    void report(::testing::AssertionResult& r) const override {
        r << "\nattacker: sent " << attacker_.sent() << (attacker_.idle() ? "" : " (writing)")
          << ", received " << attacker_.received() << " (" << attacker_.in().frames << " frames, "
          << attacker_.in().fin_order.size() << " FIN)\nsession: " << describe(last_);
    }

    asio::io_context& ioc_;
    smux::config cfg_;
    tcp::acceptor acceptor_;
    raw_peer attacker_;
    std::unique_ptr<smux::tcp_session> server_;
    capture<smux::error_code> closed_;
    smux::session_stats last_{};
    std::uint64_t max_buffered_ = 0;
    std::uint64_t max_open_ = 0;
};

class library_limits : public ::testing::TestWithParam<int> {};

std::string version_param(::testing::TestParamInfo<int> const& i) {
    return "v" + std::to_string(i.param);
}

// 100,000 SYNs while the application does not accept: the session reads exactly 1024 SYNs
// (the accept backlog) and stops reading. Then the application accepts: streams come out in
// the order of their SYNs, up to max_streams (4096); every later SYN is refused with a FIN,
// in order, and allocates nothing.
TEST_P(library_limits, syn_flood_backlog_order_and_refusals) {
    int const v = GetParam();
    asio::io_context ioc;
    smux::config cfg;
    cfg.version = v;
    cfg.keep_alive_disabled = true;
    cfg.max_streams = 4096;
    cfg.accept_backlog = 1024;
    attacked_session t(ioc, cfg);
    ASSERT_TRUE(t.start());
    raw_peer& a = t.attacker();

    constexpr std::uint32_t syns = 100'000;
    bytes flood;
    for (std::uint32_t i = 0; i < syns; ++i) {
        auto const f = syn(v, 3 + 2 * i);
        flood.insert(flood.end(), f.begin(), f.end());
    }
    a.send(std::move(flood));

    ASSERT_TRUE(t.run([&] { return t.stats().streams_accepted >= 1024; }, "a full backlog"));
    t.settle();
    EXPECT_EQ(t.stats().streams_accepted, 1024U);
    EXPECT_EQ(t.stats().streams_open, 1024U);
    EXPECT_EQ(t.stats().streams_refused, 0U);
    EXPECT_EQ(t.stats().bytes_received, 1024U * 8U) << "reading goes on with a full backlog";
    EXPECT_TRUE(t.server().is_open());

    std::vector<smux::stream> held;
    for (std::uint32_t i = 0; i < cfg.max_streams; ++i) {
        capture<smux::error_code, smux::stream> accepted;
        t.server().async_accept_stream(accepted.handler());
        ASSERT_TRUE(t.run(accepted.ready(), "accept " + std::to_string(i)));
        ASSERT_FALSE(accepted.get<0>()) << accepted.get<0>().message();
        ASSERT_EQ(accepted.get<1>().id(), 3 + 2 * i) << "accept order";
        held.push_back(std::move(accepted.get<1>()));
    }

    // No stream beyond the limit: the next accept waits.
    capture<smux::error_code, smux::stream> extra;
    t.server().async_accept_stream(extra.handler());

    a.start_reading();
    ASSERT_TRUE(t.run([&] { return a.idle() && a.in().fin_order.size() >= syns - 4096; },
                      [&] { return a.sent() + a.received(); }, "one FIN per refused SYN"));
    std::vector<std::uint32_t> expected;
    for (std::uint32_t i = 4096; i < syns; ++i) {
        expected.push_back(3 + 2 * i);
    }
    EXPECT_TRUE(a.in().fin_order == expected) << a.in().fin_order.size() << " FINs";
    EXPECT_EQ(a.in().malformed, "");
    t.settle();
    EXPECT_FALSE(extra.done);
    EXPECT_EQ(t.stats().streams_accepted, 4096U);
    EXPECT_EQ(t.stats().streams_refused, syns - 4096U);
    EXPECT_EQ(t.stats().streams_open, 4096U);
    EXPECT_EQ(t.max_buffered(), 0U);
    t.check_bounds();
    EXPECT_LE(t.max_open(), 4096U);

    held.clear();
    ASSERT_TRUE(t.close());
    ASSERT_TRUE(t.run(extra.ready(), "the pending accept failing"));
    EXPECT_EQ(extra.get<0>(), smux::error::session_closed);
}

// v2: the initial window (v2_initial_window bytes) is accepted to the byte; one byte more is
// window_overrun. After a window update (consumed 100, window 1 MiB) the limit is 100 + 1 MiB.
TEST(library_limits_v2, window_is_enforced_to_the_byte) {
    for (std::int64_t stream_buffer : {std::int64_t{65'536}, 1 * MiB}) {
        SCOPED_TRACE("max_stream_buffer " + std::to_string(stream_buffer));
        asio::io_context ioc;
        smux::config cfg;
        cfg.version = 2;
        cfg.keep_alive_disabled = true;
        cfg.max_stream_buffer = stream_buffer;
        attacked_session t(ioc, cfg);
        ASSERT_TRUE(t.start());
        raw_peer& a = t.attacker();
        a.start_reading();

        auto allowed = static_cast<std::uint32_t>(v2_initial_window);
        std::uint32_t read = 0;
        a.send(cat({syn(2, 3), psh_stream(2, 3, 1000, 1000, 9)}));
        capture<smux::error_code, smux::stream> accepted;
        t.server().async_accept_stream(accepted.handler());
        ASSERT_TRUE(t.run(accepted.ready(), "accept"));
        smux::stream s = std::move(accepted.get<1>());
        if (stream_buffer > 65'536) {
            // The first read sends UPD {consumed 100, window 1 MiB}: 100 + 1 MiB allowed.
            bytes first(100);
            capture<smux::error_code, std::size_t> r;
            s.async_read_some(asio::buffer(first), r.handler());
            ASSERT_TRUE(t.run([&] { return r.done && !a.in().updates.empty(); },
                              "the first window update"));
            EXPECT_EQ(a.in().updates.front(), (std::pair<std::uint32_t, std::uint32_t>{3, 100}));
            read = 100;
            allowed = static_cast<std::uint32_t>(100 + stream_buffer);
        }
        a.send(psh_stream(2, 3, allowed - 1000, 65'535, 9, 1000));
        ASSERT_TRUE(t.run([&] { return t.stats().buffered_bytes >= allowed - read; },
                          "the whole window buffered"));
        t.settle();
        EXPECT_TRUE(t.server().is_open()) << "the window's last byte is allowed";
        EXPECT_FALSE(t.closed().done);
        EXPECT_EQ(t.stats().buffered_bytes, allowed - read);

        a.send(psh(2, 3, "x"));
        ASSERT_TRUE(t.run(t.closed().ready(), "the session's end"));
        EXPECT_EQ(t.closed().get<0>(), smux::error::window_overrun)
            << t.closed().get<0>().message();
        t.check_bounds();
        // The bytes the window allowed stay readable, then the terminal error.
        capture<smux::error_code, std::size_t> rest_done;
        bytes rest;
        task_group tasks;
        tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
            auto [ec, got] = co_await read_to_end(s);
            rest = std::move(got);
            EXPECT_EQ(ec, smux::error::window_overrun) << ec.message();
        });
        ASSERT_TRUE(tasks.wait(ioc));
        ASSERT_GE(rest.size(), allowed - read);
        rest.resize(allowed - read);
        EXPECT_EQ(rest, pattern(9).make(read, allowed - read));
    }
}

// An application that does not read: the session stops reading at the receive budget (256 KiB
// here), stays within max_receive_buffer + 65535, and is NOT ended by keep-alive while paused
// by its own limit (Go's rule: a paused receiver does not blame the peer). Once the application
// reads, every byte arrives intact; when the peer then stays silent, keep-alive ends it.
TEST_P(library_limits, budget_pause_is_not_a_keepalive_timeout) {
    int const v = GetParam();
    asio::io_context ioc;
    smux::config cfg;
    cfg.version = v;
    cfg.keep_alive_interval = short_keepalive_interval;
    cfg.keep_alive_timeout = short_keepalive_timeout;
    cfg.max_receive_buffer = 256 * 1024;
    attacked_session t(ioc, cfg);
    ASSERT_TRUE(t.start());
    raw_peer& a = t.attacker();  // never reads

    constexpr std::uint32_t streams = 8;
    constexpr std::size_t per_stream = 192 * 1024;  // under the v2 initial window
    bytes burst;
    for (std::uint32_t i = 0; i < streams; ++i) {
        auto const f =
            cat({syn(v, 3 + 2 * i), psh_stream(v, 3 + 2 * i, per_stream, 16 * 1024, 100 + i)});
        burst.insert(burst.end(), f.begin(), f.end());
    }
    a.send(std::move(burst));

    // The application accepts every stream but reads only when `gate` opens.
    event gate(ioc.get_executor());
    int verified = 0;
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        for (std::uint32_t i = 0; i < streams; ++i) {
            smux::stream s = co_await t.server().async_accept_stream(asio::use_awaitable);
            tasks.spawn(ioc, [&, s = std::move(s)]() mutable -> asio::awaitable<void> {
                co_await gate.wait();
                std::uint32_t const index = (s.id() - 3) / 2;
                auto [ec, got] = co_await read_exactly(s, per_stream);
                EXPECT_FALSE(ec) << ec.message();
                EXPECT_EQ(got, pattern(100 + index).make(0, per_stream)) << "stream " << s.id();
                ++verified;
            });
        }
    });

    ASSERT_TRUE(t.run([&] { return t.stats().buffered_bytes >= 256U * 1024U; },
                      "the receive budget spent"));
    t.settle();
    std::uint64_t const received = t.stats().bytes_received;
    // Three keep-alive timeouts pass without a frame read: the session is paused, not dead.
    ASSERT_TRUE(t.observe_for(3 * short_keepalive_timeout));
    EXPECT_FALSE(t.closed().done) << t.closed().get<0>().message();
    EXPECT_EQ(t.stats().bytes_received, received) << "reading stays paused";
    t.check_bounds();

    gate.notify();
    ASSERT_TRUE(
        t.run([&] { return verified == static_cast<int>(streams); }, "every stream read intact"));
    EXPECT_TRUE(a.idle());
    ASSERT_TRUE(t.run(t.closed().ready(), "keep-alive ending the silent peer"));
    EXPECT_EQ(t.closed().get<0>(), smux::error::keepalive_timeout) << t.closed().get<0>().message();
    t.check_bounds();
    ASSERT_TRUE(tasks.wait(ioc));
}

// PSH for streams that were never opened is read and dropped without charging the budget:
// 8 MiB of it pass through a session whose receive budget is 64 KiB, which then still works.
TEST_P(library_limits, psh_for_unknown_streams_is_not_charged) {
    int const v = GetParam();
    asio::io_context ioc;
    smux::config cfg;
    cfg.version = v;
    cfg.keep_alive_disabled = true;
    cfg.max_receive_buffer = 64 * 1024;
    cfg.max_stream_buffer = 64 * 1024;
    attacked_session t(ioc, cfg);
    ASSERT_TRUE(t.start());
    raw_peer& a = t.attacker();
    a.start_reading();
    bytes junk;
    for (std::uint32_t sid : {7U, 2U, 0U, 0xFFFF'FFFFU}) {
        auto const f = psh_stream(v, sid, 2 * MiB, 65'535, sid);
        junk.insert(junk.end(), f.begin(), f.end());
    }
    a.send(std::move(junk));
    a.send(cat({syn(v, 3), psh(v, 3, "hello")}));
    capture<smux::error_code, smux::stream> accepted;
    t.server().async_accept_stream(accepted.handler());
    ASSERT_TRUE(t.run(accepted.ready(), "the stream opened after 8 MiB of junk"));
    ASSERT_FALSE(accepted.get<0>());
    EXPECT_EQ(accepted.get<1>().id(), 3U);
    bytes got;
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto [ec, data] = co_await read_exactly(accepted.get<1>(), 5);
        EXPECT_FALSE(ec);
        got = std::move(data);
    });
    ASSERT_TRUE(tasks.wait(ioc));
    EXPECT_EQ(to_string(got), "hello");
    EXPECT_GE(t.stats().bytes_received, 8U * MiB);
    EXPECT_LE(t.max_buffered(), 5U);
    EXPECT_TRUE(t.server().is_open());
    t.check_bounds();
    ASSERT_TRUE(t.close());
}

INSTANTIATE_TEST_SUITE_P(attacks, library_limits, ::testing::Values(1, 2), version_param);

}  // namespace
