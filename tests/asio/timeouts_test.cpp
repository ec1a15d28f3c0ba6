// Per-stream operation timeouts (config stream_read_timeout / stream_write_timeout): a read
// waiting too long fails with smux::error::read_timeout and loses nothing; a version 2 write
// waiting on a closed window fails with smux::error::write_timeout and sends nothing. These tests
// wait on time.

#include <gtest/gtest.h>

#include "support/asio_harness.hpp"

namespace {

using namespace smux_test;

using io_result = capture<smux::error_code, std::size_t>;

constexpr auto limit = 300ms;

class timeouts : public stream_pair_test<::testing::TestWithParam<int>> {};

TEST_P(timeouts, read_waiting_too_long_fails_with_timeout_and_loses_nothing) {
    smux::config cfg = quiet_config(GetParam());
    cfg.stream_read_timeout = limit;
    ASSERT_TRUE(open(cfg));

    std::array<char, 16> buf{};
    io_result r;
    auto const start = clock::now();
    s.async_read_some(asio::buffer(buf), r.handler());
    ASSERT_TRUE(run_until(ioc, r.ready()));  // allowed-sleep: the timeout is what is tested
    auto const waited = clock::now() - start;
    EXPECT_EQ(r.get<0>(), smux::error::read_timeout) << r.get<0>().message();
    EXPECT_EQ(r.get<0>(), std::errc::timed_out);
    EXPECT_EQ(r.get<1>(), 0U);
    EXPECT_GE(waited, limit);
    EXPECT_TRUE(server().is_open());

    // The stream goes on: data sent now is read in full.
    std::string const text = "late but whole";
    io_result w, r2;
    c.async_write_some(asio::buffer(text), w.handler());
    s.async_read_some(asio::buffer(buf), r2.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return w.done && r2.done; }));
    EXPECT_FALSE(r2.get<0>()) << r2.get<0>().message();
    EXPECT_EQ(std::string(buf.data(), r2.get<1>()), text);
}

using timeouts_v2 = stream_pair_test<>;

TEST_F(timeouts_v2, write_waiting_on_the_window_too_long_fails_with_timeout) {
    smux::config cfg = quiet_config(2);
    cfg.stream_write_timeout = limit;
    ASSERT_TRUE(open(cfg));
    bytes const data = random_bytes(300000, 121);
    io_result first;
    c.async_write_some(asio::buffer(data), first.handler());
    ASSERT_TRUE(run_until(ioc, first.ready()));
    ASSERT_FALSE(first.get<0>()) << first.get<0>().message();
    ASSERT_EQ(first.get<1>(), v2_initial_window);

    io_result blocked;
    auto const start = clock::now();
    c.async_write_some(
        asio::buffer(data.data() + v2_initial_window, data.size() - v2_initial_window),
        blocked.handler());
    ASSERT_TRUE(run_until(ioc, blocked.ready()));  // allowed-sleep: the timeout is what is tested
    auto const waited = clock::now() - start;
    EXPECT_EQ(blocked.get<0>(), smux::error::write_timeout) << blocked.get<0>().message();
    EXPECT_EQ(blocked.get<0>(), std::errc::timed_out);
    EXPECT_EQ(blocked.get<1>(), 0U);
    EXPECT_GE(waited, limit);

    // Nothing of the timed-out write was sent.
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        c.shutdown_send();
        auto [ec, got] = co_await read_to_end(s);
        EXPECT_EQ(ec, asio::error::eof);
        EXPECT_EQ(got.size(), v2_initial_window);
        EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin()));
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

INSTANTIATE_TEST_SUITE_P(versions, timeouts, ::testing::Values(1, 2), version_name);

}  // namespace
