// The queue between sealing and encryption: datagrams leave encrypted, intact and in the order
// they came, a full queue at once, the rest on drain.

#include <gtest/gtest.h>

#include <cstddef>
#include <smux/kcp/encrypt_queue.hpp>
#include <smux/kcp/mtu.hpp>
#include <span>
#include <vector>

#include "support/wire.hpp"

namespace {

using smux::kcp::block_crypt;
using smux::kcp::encrypt_queue;
using smux_wire::bytes;

/// A cipher that records how it was called and marks each datagram: byte 0 += 1.
class recording_crypt final : public block_crypt {
  public:
    void encrypt(std::span<std::byte> d) override {
        ++singles;
        mark(d);
    }
    void decrypt(std::span<std::byte>) override {}
    [[nodiscard]] std::size_t lanes() const noexcept override { return 4; }
    void encrypt_many(std::span<std::span<std::byte> const> ds) override {
        batches.push_back(ds.size());
        for (auto d : ds) {
            mark(d);
        }
    }

    std::size_t singles = 0;
    std::vector<std::size_t> batches;

  private:
    static void mark(std::span<std::byte> d) {
        if (!d.empty()) {
            d[0] = static_cast<std::byte>(static_cast<unsigned>(d[0]) + 1);
        }
    }
};

bytes plain_datagram(std::size_t i, std::size_t size = 100) {
    bytes d(size, static_cast<std::byte>(i));
    return d;
}

bytes encrypted(bytes d) {
    d[0] = static_cast<std::byte>(static_cast<unsigned>(d[0]) + 1);
    return d;
}

TEST(kcp_encrypt_queue, a_full_queue_goes_out_encrypted_in_order_and_drain_sends_the_rest) {
    recording_crypt c;
    encrypt_queue q(c.lanes());
    std::vector<bytes> out;
    auto sink = [&](std::span<std::byte> d) { out.emplace_back(d.begin(), d.end()); };
    for (std::size_t i = 0; i < 6; ++i) {
        q.push(c, plain_datagram(i), sink);
        EXPECT_EQ(out.size(), i < 3 ? 0U : 4U) << "after datagram " << i;
    }
    q.drain(c, sink);
    ASSERT_EQ(out.size(), 6U);
    for (std::size_t i = 0; i < 6; ++i) {
        EXPECT_EQ(out[i], encrypted(plain_datagram(i))) << "datagram " << i;
    }
    EXPECT_EQ(c.batches, (std::vector<std::size_t>{4, 2}));
    q.drain(c, sink);  // empty: nothing more
    EXPECT_EQ(out.size(), 6U);
    EXPECT_EQ(c.batches.size(), 2U);
}

TEST(kcp_encrypt_queue, an_oversized_datagram_goes_out_after_what_was_queued) {
    recording_crypt c;
    encrypt_queue q(c.lanes());
    std::vector<bytes> out;
    auto sink = [&](std::span<std::byte> d) { out.emplace_back(d.begin(), d.end()); };
    q.push(c, plain_datagram(1), sink);
    q.push(c, plain_datagram(2, smux::kcp::mtu_limit + 1), sink);
    ASSERT_EQ(out.size(), 2U);
    EXPECT_EQ(out[0], encrypted(plain_datagram(1)));
    EXPECT_EQ(out[1], encrypted(plain_datagram(2, smux::kcp::mtu_limit + 1)));
    EXPECT_EQ(c.singles, 1U);
}

}  // namespace
