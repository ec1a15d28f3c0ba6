// The Reed-Solomon code against klauspost/reedsolomon: KCP.md §6 (d) (the 2+1 group, the
// unequal-size group, the 10/3 matrix rows) and parity printed by Go for other codes
// (fec_rs_go_vectors.hpp); reconstruction from every erasure pattern within reach.

#include <gtest/gtest.h>

#include <random>
#include <smux/kcp/fec_codec.hpp>
#include <smux/kcp/packet.hpp>
#include <vector>

#include "fec_rs_go_vectors.hpp"
#include "support/wire.hpp"

namespace {

using namespace smux_wire;
using smux::kcp::reed_solomon;

/// A code's shards as the tests keep them: d data then p parity, `length` bytes each.
struct shard_set {
    std::vector<bytes> shards;

    shard_set(std::size_t count, std::size_t length) : shards(count, bytes(length)) {}

    std::vector<std::byte const*> inputs(std::size_t from, std::size_t n) const {
        std::vector<std::byte const*> out;
        for (std::size_t i = from; i < from + n; ++i) {
            out.push_back(shards[i].data());
        }
        return out;
    }
    std::vector<std::byte*> outputs(std::size_t from, std::size_t n) {
        std::vector<std::byte*> out;
        for (std::size_t i = from; i < from + n; ++i) {
            out.push_back(shards[i].data());
        }
        return out;
    }
};

shard_set encoded(reed_solomon& rs, std::vector<bytes> const& data) {
    shard_set s(rs.data_shards() + rs.parity_shards(), data.front().size());
    std::copy(data.begin(), data.end(), s.shards.begin());
    rs.encode(s.inputs(0, rs.data_shards()), s.outputs(rs.data_shards(), rs.parity_shards()),
              data.front().size());
    return s;
}

std::vector<bytes> go_data(std::size_t d, std::size_t p, std::size_t length) {
    rs_go_vectors::rs_lcg g{static_cast<std::uint32_t>(d * 65536 + p * 256 + length)};
    std::vector<bytes> data(d, bytes(length));
    for (bytes& shard : data) {
        for (std::byte& b : shard) {
            b = g.next();
        }
    }
    return data;
}

std::string parity_hex(shard_set const& s, std::size_t d) {
    std::string out;
    for (std::size_t i = d; i < s.shards.size(); ++i) {
        out += to_hex(s.shards[i]);
    }
    return out;
}

TEST(kcp_reed_solomon, parameters_klauspost_accepts_with_parity) {
    EXPECT_TRUE(reed_solomon::valid(1, 1));
    EXPECT_TRUE(reed_solomon::valid(10, 3));
    EXPECT_TRUE(reed_solomon::valid(255, 1));
    EXPECT_TRUE(reed_solomon::valid(128, 128));
    EXPECT_FALSE(reed_solomon::valid(0, 3));
    EXPECT_FALSE(reed_solomon::valid(10, 0)) << "no parity: kcp-go has no FEC";
    EXPECT_FALSE(reed_solomon::valid(200, 57)) << "over 256 shards";
    EXPECT_FALSE(reed_solomon::create(256, 1));
}

TEST(kcp_reed_solomon, matrix_is_systematic_with_the_parity_rows_of_vector_d) {
    auto rs = reed_solomon::create(10, 3);
    ASSERT_TRUE(rs);
    for (std::size_t r = 0; r < 10; ++r) {
        for (std::size_t c = 0; c < 10; ++c) {
            EXPECT_EQ(rs->coefficient(r, c), r == c ? 1 : 0) << r << "," << c;
        }
    }
    char const* const rows[] = {"8196afb8d2c4fee80302", "9681b8afc4d2e8fe0203",
                                "bfd6620a066fdfb70504"};
    for (std::size_t j = 0; j < 3; ++j) {
        bytes row;
        for (std::size_t c = 0; c < 10; ++c) {
            row.push_back(std::byte{rs->coefficient(10 + j, c)});
        }
        EXPECT_EQ(to_hex(row), rows[j]) << "parity row " << j;
    }
    auto const two_one = reed_solomon::create(2, 1);
    EXPECT_EQ(two_one->coefficient(2, 0), 3);
    EXPECT_EQ(two_one->coefficient(2, 1), 2);
}

TEST(kcp_reed_solomon, parity_of_the_vector_d_groups) {
    auto rs = reed_solomon::create(2, 1);
    // The RS shards are the datagrams from offset 6: size field and KCP bytes.
    bytes const d0 = from_hex("1f00 04030201510000020d0c0b0a00000000000000000500000068656c6c6f");
    bytes const d1 = from_hex("1f00 04030201510000020d0c0b0a010000000000000005000000776f726c64");
    EXPECT_EQ(parity_hex(encoded(*rs, {d0, d1}), 2),
              "1f0004030201510000020d0c0b0a0200000000000000050000005671506c79");

    bytes hi = from_hex("1c00 04030201510000020d0c0b0a0100000000000000020000006869");
    hi.resize(d0.size());  // zero padding to the longest shard, for the code only
    shard_set const uneven = encoded(*rs, {d0, hi});
    EXPECT_EQ(uneven.shards[2].size(), 31U);
    EXPECT_EQ(parity_hex(uneven, 2),
              "190004030201510000020d0c0b0a02000000000000000b000000687db4b4b1");
}

TEST(kcp_reed_solomon, parity_equals_klauspost_for_small_codes) {
    for (auto const& c : rs_go_vectors::small_codes) {
        auto rs = reed_solomon::create(c.data, c.parity);
        ASSERT_TRUE(rs);
        EXPECT_EQ(parity_hex(encoded(*rs, go_data(c.data, c.parity, c.length)), c.data),
                  c.parity_hex)
            << c.data << "+" << c.parity;
    }
}

TEST(kcp_reed_solomon, parity_equals_klauspost_for_large_codes) {
    for (auto const& c : rs_go_vectors::large_codes) {
        auto rs = reed_solomon::create(c.data, c.parity);
        ASSERT_TRUE(rs);
        shard_set const s = encoded(*rs, go_data(c.data, c.parity, c.length));
        bytes all;
        for (std::size_t i = c.data; i < s.shards.size(); ++i) {
            all += s.shards[i];
        }
        EXPECT_EQ(smux::kcp::crc32_ieee(all), c.parity_crc32) << c.data << "+" << c.parity;
    }
}

/// Every subset of at most p lost shards (as a bit mask over d+p shards) rebuilds the data.
void check_every_erasure(std::size_t d, std::size_t p, std::size_t length) {
    auto rs = reed_solomon::create(d, p);
    ASSERT_TRUE(rs);
    std::mt19937 rng(static_cast<std::uint32_t>(d * 31 + p));
    std::vector<bytes> data(d, bytes(length));
    for (bytes& shard : data) {
        for (std::byte& b : shard) {
            b = static_cast<std::byte>(rng());
        }
    }
    shard_set const s = encoded(*rs, data);
    std::size_t const n = d + p;
    std::size_t patterns = 0;
    for (std::uint32_t lost = 0; lost < (1U << n); ++lost) {
        if (static_cast<std::size_t>(__builtin_popcount(lost)) > p) {
            continue;
        }
        ++patterns;
        std::vector<std::byte const*> shards(n);
        std::vector<bytes> rebuilt(d, bytes(length, std::byte{0xEE}));
        std::vector<std::byte*> rebuilt_at(d);
        for (std::size_t i = 0; i < n; ++i) {
            shards[i] = (lost >> i & 1U) != 0 ? nullptr : s.shards[i].data();
        }
        for (std::size_t i = 0; i < d; ++i) {
            rebuilt_at[i] = rebuilt[i].data();
        }
        ASSERT_TRUE(rs->reconstruct_data(shards, rebuilt_at, length)) << lost;
        for (std::size_t i = 0; i < d; ++i) {
            if ((lost >> i & 1U) != 0) {
                ASSERT_EQ(rebuilt[i], data[i]) << "mask " << lost << " shard " << i;
            } else {
                ASSERT_EQ(rebuilt[i], bytes(length, std::byte{0xEE})) << "present: untouched";
            }
        }
    }
    EXPECT_GT(patterns, 0U);
}

TEST(kcp_reed_solomon, rebuilds_from_every_erasure_of_at_most_p_shards) {
    check_every_erasure(2, 1, 29);
    check_every_erasure(10, 3, 97);
    check_every_erasure(4, 2, 1);
    check_every_erasure(1, 1, 64);
    check_every_erasure(3, 7, 40);
}

TEST(kcp_reed_solomon, too_few_shards_rebuild_nothing) {
    auto rs = reed_solomon::create(4, 2);
    shard_set s = encoded(*rs, std::vector<bytes>(4, bytes(8, std::byte{7})));
    std::vector<std::byte const*> shards = s.inputs(0, 6);
    shards[0] = shards[1] = shards[5] = nullptr;
    bytes r0(8, std::byte{0xEE});
    bytes r1(8, std::byte{0xEE});
    std::vector<std::byte*> rebuilt{r0.data(), r1.data(), nullptr, nullptr};
    EXPECT_FALSE(rs->reconstruct_data(shards, rebuilt, 8));
    EXPECT_EQ(r0, bytes(8, std::byte{0xEE}));
}

}  // namespace
