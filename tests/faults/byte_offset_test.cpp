// End of file and connection reset at every byte offset of a small transfer, at either end:
// duplex_stream::eof_after(n) / reset_after(n) for n = 0, 1, 2, ... until the end never reads
// n bytes. The offsets include every frame boundary and every position inside a frame header
// and a payload; a clean run's bytes are parsed into frames to count both kinds.

#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "faults/fault_harness.hpp"

namespace {

using namespace smux_fault;

/// Offsets at which a frame starts (and the end of the last frame) in a recorded byte stream.
std::set<std::size_t> frame_boundaries(bytes const& wire) {
    std::set<std::size_t> out{0};
    std::size_t pos = 0;
    while (pos + 8 <= wire.size()) {
        std::size_t const length = std::to_integer<std::size_t>(wire[pos + 2]) |
                                   (std::to_integer<std::size_t>(wire[pos + 3]) << 8U);
        pos += 8 + length;
        out.insert(pos);
    }
    return out;
}

using offset_param = std::tuple<int, side>;

std::string offset_name(::testing::TestParamInfo<offset_param> const& info) {
    return "v" + std::to_string(std::get<0>(info.param)) + "_" + side_name(std::get<1>(info.param));
}

class byte_offset : public ::testing::TestWithParam<offset_param> {
  protected:
    int version() const { return std::get<0>(GetParam()); }
    side where() const { return std::get<1>(GetParam()); }

    /// What the faulted end reads in a run without a fault.
    bytes clean_wire() {
        auto log = std::make_shared<bytes>();
        fault probe;
        probe.where = where();
        outcome o;
        EXPECT_TRUE(run_scenario(version(), tiny_scenario(), {}, probe, o, log));
        check_outcome(o, tiny_scenario(), probe, "clean run");
        return *log;
    }
};

TEST_P(byte_offset, end_of_file_at_every_offset) {
    bytes const wire = clean_wire();
    ASSERT_FALSE(HasFailure());
    auto const boundaries = frame_boundaries(wire);
    ASSERT_EQ(*boundaries.rbegin(), wire.size()) << "the recorded bytes end inside a frame";
    std::size_t at_boundary = 0;
    std::size_t inside = 0;
    for (std::size_t n = 0; n < max_fault_point; ++n) {
        fault f;
        f.what = fault::kind::eof;
        f.where = where();
        f.n = n;
        outcome o;
        if (!run_and_check(version(), tiny_scenario(), {}, f, o)) {
            return;
        }
        if (!o.client_struck && !o.server_struck) {
            // Beyond the last byte the end ever reads.
            EXPECT_GT(n, wire.size());
            break;
        }
        if (n <= wire.size()) {
            (boundaries.contains(n) ? at_boundary : inside) += 1;
        }
    }
    EXPECT_EQ(at_boundary, boundaries.size());
    EXPECT_EQ(at_boundary + inside, wire.size() + 1);
    RecordProperty("frame_boundaries", static_cast<int>(at_boundary));
    RecordProperty("inside_frames", static_cast<int>(inside));
}

TEST_P(byte_offset, reset_at_every_offset) {
    bytes const wire = clean_wire();
    ASSERT_FALSE(HasFailure());
    std::size_t runs = 0;
    for (std::size_t n = 0; n < max_fault_point; ++n) {
        fault f;
        f.what = fault::kind::reset;
        f.where = where();
        f.n = n;
        f.ec = asio::error::connection_reset;
        f.read_size = 1 + n % 7;  // the last read before the reset takes 1..7 bytes
        outcome o;
        ++runs;
        if (!run_and_check(version(), tiny_scenario(), {}, f, o)) {
            return;
        }
        if (!o.client_struck && !o.server_struck) {
            EXPECT_GT(n, wire.size() / 2);
            break;
        }
    }
    EXPECT_GT(runs, wire.size() / 2);
}

INSTANTIATE_TEST_SUITE_P(faults, byte_offset,
                         ::testing::Combine(::testing::Values(1, 2),
                                            ::testing::Values(side::client, side::server)),
                         offset_name);

}  // namespace
