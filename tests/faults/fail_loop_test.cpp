// Fail loops: the scenario of fault_harness.hpp runs with the n-th transport operation of one
// end failing, for n = 0, 1, 2, ... until a run completes without reaching the fault. Every
// run must end (watchdog), report the injected error or connection_closed, deliver only
// prefixes of what was sent, and release everything.
//   - break_after: the failure also ends the read waiting at that moment (a broken socket);
//   - fail_after: a waiting read goes on waiting (a transport whose reads still work), so
//     the session relies on the peer's end of file or on its write-error grace period;
//   - both with bulk and small scenarios, in protocol versions 1 and 2, at either end.

#include <gtest/gtest.h>

#include <tuple>

#include "faults/fault_harness.hpp"

namespace {

using namespace smux_fault;

using loop_param = std::tuple<int, side, char const*>;

std::string loop_name(::testing::TestParamInfo<loop_param> const& info) {
    return "v" + std::to_string(std::get<0>(info.param)) + "_" +
           side_name(std::get<1>(info.param)) + "_" + std::get<2>(info.param);
}

scenario scenario_named(std::string const& name) {
    return name == "bulk" ? bulk_scenario() : small_scenario();
}

class fail_loop_test : public ::testing::TestWithParam<loop_param> {
  protected:
    int version() const { return std::get<0>(GetParam()); }
    side where() const { return std::get<1>(GetParam()); }
    scenario sc() const { return scenario_named(std::get<2>(GetParam())); }
};

TEST_P(fail_loop_test, clean_run_completes) {
    outcome o;
    ASSERT_TRUE(run_and_check(version(), sc(), {}, fault{}, o));
    EXPECT_FALSE(o.client_struck || o.server_struck);
    EXPECT_GT(o.client_ops, 4U);
    EXPECT_GT(o.server_ops, 4U);
    EXPECT_EQ(o.client_stats_before_close.streams_opened, sc().streams.size());
}

TEST_P(fail_loop_test, break_after_every_operation) {
    fault f;
    f.what = fault::kind::breaks;
    f.where = where();
    f.ec = asio::error::network_down;
    std::size_t const runs = fail_loop(version(), sc(), {}, f);
    RecordProperty("runs", static_cast<int>(runs));
    EXPECT_GT(runs, 8U);
}

INSTANTIATE_TEST_SUITE_P(faults, fail_loop_test,
                         ::testing::Combine(::testing::Values(1, 2),
                                            ::testing::Values(side::client, side::server),
                                            ::testing::Values("bulk", "small")),
                         loop_name);

using side_param = std::tuple<int, side>;

std::string side_param_name(::testing::TestParamInfo<side_param> const& info) {
    return "v" + std::to_string(std::get<0>(info.param)) + "_" + side_name(std::get<1>(info.param));
}

class fail_after_loop : public ::testing::TestWithParam<side_param> {};

TEST_P(fail_after_loop, every_operation) {
    // A write failure leaves the session reading until the peer's end of file or the
    // one-second write-error grace period. With the small scenario the peer usually ends the
    // connection first, so runs stay short; with the bulk one (v2 senders wait for window
    // updates that never come) most runs would wait for the grace period.
    fault f;
    f.what = fault::kind::fail;
    f.where = std::get<1>(GetParam());
    f.ec = asio::error::connection_aborted;
    std::size_t const runs = fail_loop(std::get<0>(GetParam()), small_scenario(), {}, f);
    RecordProperty("runs", static_cast<int>(runs));
    EXPECT_GT(runs, 8U);
}

INSTANTIATE_TEST_SUITE_P(faults, fail_after_loop,
                         ::testing::Combine(::testing::Values(1, 2),
                                            ::testing::Values(side::client, side::server)),
                         side_param_name);

}  // namespace
