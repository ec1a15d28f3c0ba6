// Which queued datagrams one segmented send (UDP_SEGMENT) may carry: equal sizes to one
// destination, a shorter one only last, within the kernel's segment and byte limits.

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

#include "kcp/asio/udp_segmentation.hpp"

namespace {

using smux::kcp::detail::max_segmented_bytes;
using smux::kcp::detail::max_segments;
using smux::kcp::detail::segment_run;

auto const everywhere = [](std::size_t) { return true; };

TEST(KcpUdpSegmentation, EqualSizesToOneDestinationFormOneRun) {
    std::vector<std::size_t> const sizes{1350, 1350, 1350, 1350};
    EXPECT_EQ(segment_run(sizes, everywhere), 4U);
}

TEST(KcpUdpSegmentation, AShorterDatagramEndsTheRunItJoins) {
    std::vector<std::size_t> const sizes{1350, 1350, 100, 1350};
    EXPECT_EQ(segment_run(sizes, everywhere), 3U);
}

TEST(KcpUdpSegmentation, ALongerDatagramStartsAnotherRun) {
    std::vector<std::size_t> const sizes{100, 1350, 1350};
    EXPECT_EQ(segment_run(sizes, everywhere), 1U);
}

TEST(KcpUdpSegmentation, AnotherDestinationStartsAnotherRun) {
    std::vector<std::size_t> const sizes{1350, 1350, 1350, 1350};
    EXPECT_EQ(segment_run(sizes, [](std::size_t i) { return i < 2; }), 2U);
}

TEST(KcpUdpSegmentation, EmptyDatagramsTravelAlone) {
    std::vector<std::size_t> const leading{0, 0, 0};
    EXPECT_EQ(segment_run(leading, everywhere), 1U);
    std::vector<std::size_t> const trailing{8, 8, 0};
    EXPECT_EQ(segment_run(trailing, everywhere), 2U);
}

TEST(KcpUdpSegmentation, ARunStopsAtTheKernelsSegmentAndByteLimits) {
    std::vector<std::size_t> const small(max_segments + 6, 100);
    EXPECT_EQ(segment_run(small, everywhere), max_segments);
    std::vector<std::size_t> const large(60, 1500);
    EXPECT_EQ(segment_run(large, everywhere), max_segmented_bytes / 1500);
}

}  // namespace
