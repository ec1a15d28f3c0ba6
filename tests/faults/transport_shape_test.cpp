// The scenario over transports that move 1..7 bytes per operation and over transports whose
// operations complete late (timers), cleanly and with a failing operation: reads and writes
// of every small size split frame headers and payloads at every position, delays let stream
// operations, closes and half-closes overlap transport operations in flight.

#include <gtest/gtest.h>

#include <chrono>

#include "faults/fault_harness.hpp"

namespace {

using namespace smux_fault;
using namespace std::chrono_literals;

class short_io : public ::testing::TestWithParam<int> {};

TEST_P(short_io, every_read_and_write_size_from_1_to_7) {
    int const version = GetParam();
    for (std::size_t r = 1; r <= 7; ++r) {
        for (std::size_t w = 1; w <= 7; ++w) {
            transport_setup ts;
            ts.read_size = r;
            ts.write_size = w;
            outcome o;
            ASSERT_TRUE(run_and_check(version, small_scenario(), ts, fault{}, o));
            ASSERT_FALSE(o.client_struck || o.server_struck);
        }
    }
}

TEST_P(short_io, break_after_sampled_operations) {
    // At 1..7 bytes per operation the scenario takes hundreds of operations per end: about
    // 30 fault points spread over them, offset per size so that different ones are hit.
    int const version = GetParam();
    for (std::size_t k = 1; k <= 7; ++k) {
        transport_setup ts;
        ts.read_size = k;
        ts.write_size = 8 - k;
        outcome clean;
        ASSERT_TRUE(run_and_check(version, small_scenario(), ts, fault{}, clean));
        for (side where : {side::client, side::server}) {
            std::size_t const ops = where == side::client ? clean.client_ops : clean.server_ops;
            std::size_t const stride = std::max<std::size_t>(1, ops / 30) + k;
            fault f;
            f.what = fault::kind::breaks;
            f.where = where;
            f.ec = asio::error::network_reset;
            std::size_t const runs = fail_loop(version, small_scenario(), ts, f, stride);
            EXPECT_GT(runs, 10U);
            if (HasFailure()) {
                return;
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(faults, short_io, ::testing::Values(1, 2), version_name);

struct delay_case {
    std::chrono::microseconds read;
    std::chrono::microseconds write;
};

class delayed_io : public ::testing::TestWithParam<int> {
  protected:
    static constexpr delay_case cases[] = {{0us, 300us}, {200us, 0us}, {50us, 80us}};
};

TEST_P(delayed_io, clean_runs) {
    for (auto const& d : cases) {
        for (auto const& sc : {small_scenario(), bulk_scenario()}) {
            transport_setup ts;
            ts.read_delay = d.read;
            ts.write_delay = d.write;
            outcome o;
            ASSERT_TRUE(run_and_check(GetParam(), sc, ts, fault{}, o));
            ASSERT_FALSE(o.client_struck || o.server_struck);
        }
    }
}

TEST_P(delayed_io, break_after_every_operation) {
    for (auto const& d : cases) {
        for (auto const& sc : {small_scenario(), bulk_scenario()}) {
            for (side where : {side::client, side::server}) {
                transport_setup ts;
                ts.read_delay = d.read;
                ts.write_delay = d.write;
                fault f;
                f.what = fault::kind::breaks;
                f.where = where;
                f.ec = asio::error::connection_reset;
                EXPECT_GT(fail_loop(GetParam(), sc, ts, f), 8U);
                if (HasFailure()) {
                    return;
                }
            }
        }
    }
}

TEST_P(delayed_io, chunked_and_delayed_break_after_every_operation) {
    // Moderate chunks (a frame spans several operations) and late completions together.
    for (side where : {side::client, side::server}) {
        transport_setup ts;
        ts.read_size = 97;
        ts.write_size = 61;
        ts.read_delay = 20us;
        ts.write_delay = 45us;
        fault f;
        f.what = fault::kind::breaks;
        f.where = where;
        f.ec = asio::error::network_down;
        EXPECT_GT(fail_loop(GetParam(), small_scenario(), ts, f), 20U);
        if (HasFailure()) {
            return;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(faults, delayed_io, ::testing::Values(1, 2), version_name);

}  // namespace
