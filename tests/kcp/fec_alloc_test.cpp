// FEC's promise of no allocation per datagram once warmed up, checked by counting every
// operator new of this test executable (its own, so that no other test pays for the count).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <smux/kcp/fec_decoder.hpp>
#include <smux/kcp/fec_encoder.hpp>
#include <vector>

namespace {
std::atomic<std::size_t> allocations{0};
}  // namespace

void* operator new(std::size_t n) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace {

using bytes = std::vector<std::byte>;
using smux::kcp::fec_decoder;
using smux::kcp::fec_encoder;

/// Datagrams of a 10/3 sender (FEC header at 0), made before anything is counted.
std::vector<bytes> stream(std::size_t groups, std::mt19937& rng) {
    auto enc = fec_encoder::create(10, 3, 0);
    std::vector<bytes> out;
    for (std::size_t i = 0; i < groups * 10; ++i) {
        bytes d(8 + 24 + rng() % 1000, std::byte{0x5A});
        auto const parity = enc->encode(d);
        out.push_back(d);
        for (auto const& p : parity) {
            out.emplace_back(p.begin(), p.end());
        }
    }
    return out;
}

TEST(kcp_fec_allocation, the_count_sees_allocations) {
    std::size_t const before = allocations.load();
    auto const p = std::make_unique<std::vector<int>>(10);
    EXPECT_EQ(allocations.load() - before, 2U) << "the replacement operator new is in use";
}

TEST(kcp_fec_allocation, encoder_allocates_nothing_per_datagram) {
    auto enc = fec_encoder::create(10, 3, 20);
    bytes d(1400);
    std::size_t parity = 0;
    std::size_t const before = allocations.load();
    for (std::size_t i = 0; i < 1300; ++i) {
        parity += enc->encode(std::span(d).first(28 + i % 1300)).size();
    }
    EXPECT_EQ(allocations.load() - before, 0U);
    EXPECT_EQ(parity, 390U);
}

TEST(kcp_fec_allocation, decoder_allocates_nothing_once_its_queue_was_full) {
    std::mt19937 rng(5);
    std::vector<bytes> const warm = stream(20, rng);
    std::vector<bytes> const measured = stream(200, rng);
    fec_decoder dec(10, 3);
    std::size_t peak = 0;
    auto run = [&](std::vector<bytes> const& shards, std::uint32_t base) {
        std::size_t recovered = 0;
        for (std::size_t i = 0; i < shards.size(); ++i) {
            if (rng() % 5 != 0) {  // 20 % loss: recoveries, late parity, a full queue
                recovered += dec.decode(shards[i], base + static_cast<std::uint32_t>(i)).size();
                peak = std::max(peak, dec.queued());
            }
        }
        return recovered;
    };
    (void)run(warm, 0);
    std::size_t const before = allocations.load();
    std::size_t const recovered = run(measured, 1000000);
    EXPECT_EQ(allocations.load() - before, 0U);
    EXPECT_GT(recovered, 0U);
    EXPECT_EQ(peak, dec.queue_limit()) << "the queue was full, so eviction was exercised";
}

}  // namespace
