// The receiving half of kcp-go's FEC layer: recovery of KCP.md §6 (d), every erasure pattern
// of at most p shards for 10/3 and 2/1, group release, duplicates, the seqid wrap, expiry on
// a virtual clock, the queue bound, autotuning (4/2 against 10/3, and from FEC off), hostile
// shards; and kcp-go's FindPeriod on its own. Groups come from fec_encoder, which
// fec_encoder_test checks against kcp-go's bytes.

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <smux/kcp/fec_codec.hpp>
#include <smux/kcp/fec_decoder.hpp>
#include <smux/kcp/fec_encoder.hpp>
#include <smux/kcp/packet.hpp>
#include <vector>

#include "kcp_vectors.hpp"
#include "support/wire.hpp"

namespace {

using namespace smux_wire;
using smux::kcp::fec_decoder;
using smux::kcp::fec_encoder;

/// One datagram of a sender without crypt header (FEC header at 0).
struct shard {
    bytes datagram;
    bool parity = false;
    bytes kcp;  ///< data shards: the KCP bytes it carries
};

/// A kcp-go sender: KCP datagrams of random content and length through an fec_encoder.
class sender {
  public:
    sender(std::size_t d, std::size_t p, std::uint32_t first_seqid = 0, std::uint32_t seed = 1)
        : enc_(*fec_encoder::create(d, p, 0, first_seqid)), rng_(seed) {}

    /// The next `groups` whole groups, data and parity in seqid order.
    std::vector<shard> groups(std::size_t groups) {
        std::vector<shard> out;
        while (groups > 0) {
            bytes kcp(24 + rng_() % 200);
            for (std::byte& b : kcp) {
                b = static_cast<std::byte>(rng_());
            }
            bytes d = bytes(8) + kcp;
            auto const parity = enc_.encode(d);
            out.push_back(shard{.datagram = d, .kcp = kcp});
            for (auto const& p : parity) {
                out.push_back(shard{.datagram = bytes(p.begin(), p.end()), .parity = true});
            }
            groups -= parity.empty() ? 0 : 1;
        }
        return out;
    }

  private:
    fec_encoder enc_;
    std::mt19937 rng_;
};

std::vector<bytes> feed(fec_decoder& dec, std::span<shard const> shards, std::uint32_t now = 0) {
    std::vector<bytes> recovered;
    for (shard const& s : shards) {
        for (auto const r : dec.decode(s.datagram, now)) {
            recovered.emplace_back(r.begin(), r.end());
        }
    }
    return recovered;
}

std::vector<shard> without(std::vector<shard> shards, std::uint32_t lost_mask) {
    std::vector<shard> kept;
    for (std::size_t i = 0; i < shards.size(); ++i) {
        if ((lost_mask >> i & 1U) == 0) {
            kept.push_back(shards[i]);
        }
    }
    return kept;
}

TEST(kcp_fec_decoder, recovers_the_vector_d_groups) {
    bytes const d0 = from_hex("00000000 f100 1f00") + from_hex(kcp_vectors::push_b);
    bytes const p =
        from_hex("02000000 f200 1f0004030201510000020d0c0b0a0200000000000000050000005671506c79");
    fec_decoder dec(2, 1);
    EXPECT_TRUE(dec.decode(d0, 0).empty());
    auto const r = dec.decode(p, 0);
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(to_hex(r[0]), "04030201510000020d0c0b0a010000000000000005000000776f726c64");

    bytes const uneven_p =
        from_hex("02000000 f200 190004030201510000020d0c0b0a02000000000000000b000000687db4b4b1");
    fec_decoder dec2(2, 1);
    (void)dec2.decode(d0, 0);
    auto const r2 = dec2.decode(uneven_p, 0);
    ASSERT_EQ(r2.size(), 1U);
    EXPECT_EQ(to_hex(r2[0]), "04030201510000020d0c0b0a0100000000000000020000006869")
        << "the padding is cut at the size field";
    EXPECT_EQ(dec2.counters().recovered, 1U);
    EXPECT_EQ(dec2.counters().parity_in, 1U);
    EXPECT_EQ(dec2.queued(), 0U) << "recovery releases the group";
}

/// Every pattern of at most p lost shards of one group (shards arrive in order).
void every_erasure(std::size_t d, std::size_t p) {
    std::size_t const n = d + p;
    std::vector<shard> const group = sender(d, p, 0, static_cast<std::uint32_t>(n)).groups(1);
    ASSERT_EQ(group.size(), n);
    for (std::uint32_t lost = 0; lost < (1U << n); ++lost) {
        if (static_cast<std::size_t>(__builtin_popcount(lost)) > p) {
            continue;
        }
        fec_decoder dec(d, p);
        std::vector<bytes> const got = feed(dec, without(group, lost));
        std::vector<bytes> expected;
        for (std::size_t i = 0; i < d; ++i) {
            if ((lost >> i & 1U) != 0) {
                expected.push_back(group[i].kcp);
            }
        }
        ASSERT_EQ(got, expected) << "lost mask " << lost;
        EXPECT_EQ(dec.counters().recovered, expected.size());
        EXPECT_EQ(dec.counters().recovery_failed, 0U);
    }
}

TEST(kcp_fec_decoder, recovers_every_erasure_of_at_most_p_shards_10_3) {
    every_erasure(10, 3);
}
TEST(kcp_fec_decoder, recovers_every_erasure_of_at_most_p_shards_2_1) {
    every_erasure(2, 1);
}

TEST(kcp_fec_decoder, recovers_whatever_the_arrival_order) {
    sender s(10, 3, 0, 7);
    std::mt19937 rng(3);
    for (int round = 0; round < 50; ++round) {
        std::vector<shard> stream = s.groups(4);
        std::vector<bytes> lost;
        for (std::size_t g = 0; g < 4; ++g) {  // three random shards of each group go missing
            std::vector<std::size_t> idx(13);
            std::iota(idx.begin(), idx.end(), g * 13);
            std::shuffle(idx.begin(), idx.end(), rng);
            for (std::size_t k = 0; k < 3; ++k) {
                if (!stream[idx[k]].parity) {
                    lost.push_back(stream[idx[k]].kcp);
                }
                stream[idx[k]].datagram.clear();
            }
        }
        std::erase_if(stream, [](shard const& x) { return x.datagram.empty(); });
        std::shuffle(stream.begin(), stream.end(), rng);
        fec_decoder dec(10, 3);
        std::vector<bytes> const got = feed(dec, stream);
        for (bytes const& l : lost) {  // reordering may rebuild shards still on their way, too
            EXPECT_NE(std::find(got.begin(), got.end(), l), got.end()) << "round " << round;
        }
    }
}

TEST(kcp_fec_decoder, releases_a_group_when_its_data_shards_are_in) {
    std::vector<shard> const stream = sender(4, 2).groups(2);
    fec_decoder dec(4, 2);
    std::vector<std::size_t> queued;
    for (shard const& s : stream) {
        EXPECT_TRUE(dec.decode(s.datagram, 0).empty());
        queued.push_back(dec.queued());
    }
    // Data 1, 2, 3, released at 4; the late parity shards wait alone; the next group likewise.
    EXPECT_EQ(queued, (std::vector<std::size_t>{1, 2, 3, 0, 1, 2, 3, 4, 5, 2, 3, 4}));
    EXPECT_EQ(dec.counters().shards_in, 12U);
    EXPECT_EQ(dec.counters().parity_in, 4U);
}

TEST(kcp_fec_decoder, drops_duplicates) {
    std::vector<shard> const group = sender(4, 2).groups(1);
    fec_decoder dec(4, 2);
    (void)dec.decode(group[0].datagram, 0);
    (void)dec.decode(group[0].datagram, 0);
    (void)dec.decode(group[4].datagram, 0);
    (void)dec.decode(group[4].datagram, 0);
    EXPECT_EQ(dec.counters().duplicates, 2U);
    EXPECT_EQ(dec.queued(), 2U);
    EXPECT_TRUE(dec.decode(group[1].datagram, 0).empty()) << "3 distinct shards < d = 4";
    auto const r = dec.decode(group[5].datagram, 0);
    ASSERT_EQ(r.size(), 2U);
    EXPECT_EQ(bytes(r[0].begin(), r[0].end()), group[2].kcp);
    EXPECT_EQ(bytes(r[1].begin(), r[1].end()), group[3].kcp);
}

TEST(kcp_fec_decoder, sorts_and_recovers_across_the_seqid_wrap) {
    std::uint32_t const wrap = 4294967287U;                          // for 10/3
    std::vector<shard> stream = sender(10, 3, wrap - 26).groups(4);  // two groups each side
    ASSERT_EQ(smux::kcp::read_fec_header(stream[26].datagram)->seqid, 0U);
    // Lose data shards in the last group before the wrap and the first after it, and let the
    // groups after the wrap arrive first.
    std::vector<bytes> const expected{stream[13 + 2].kcp, stream[26 + 9].kcp};
    stream[13 + 2].datagram.clear();
    stream[26 + 9].datagram.clear();
    std::vector<shard> reordered(stream.begin() + 26, stream.end());
    reordered.insert(reordered.end(), stream.begin(), stream.begin() + 26);
    std::erase_if(reordered, [](shard const& x) { return x.datagram.empty(); });
    fec_decoder dec(10, 3);
    std::vector<bytes> got = feed(dec, reordered);
    EXPECT_EQ(got, (std::vector<bytes>{expected[1], expected[0]}));
    EXPECT_EQ(dec.counters().evicted, 0U);
}

TEST(kcp_fec_decoder, forgets_shards_after_60_seconds) {
    std::vector<shard> const group = sender(10, 3).groups(1);
    std::uint32_t const t0 = 0xFFFFFF00U;  // the caller's clock may wrap
    fec_decoder dec(10, 3);
    (void)dec.decode(group[0].datagram, t0);
    (void)dec.decode(group[1].datagram, t0 + 60000);
    EXPECT_EQ(dec.queued(), 2U) << "60 000 ms is not yet older than 60 000 ms";
    (void)dec.decode(group[2].datagram, t0 + 60001);
    EXPECT_EQ(dec.queued(), 2U);
    EXPECT_EQ(dec.counters().expired, 1U);
    // Without shard 0, seven more data shards and one parity are 10 shards of the group again.
    std::vector<shard> rest(group.begin() + 3, group.begin() + 10);
    EXPECT_TRUE(feed(dec, rest, t0 + 60002).empty());
    auto const r = dec.decode(group[10].datagram, t0 + 60002);
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(bytes(r[0].begin(), r[0].end()), group[0].kcp) << "rebuilt, not remembered";
}

TEST(kcp_fec_decoder, queue_holds_three_groups_of_shards) {
    fec_decoder dec(2, 1);
    EXPECT_EQ(dec.queue_limit(), 9U);
    std::vector<shard> const stream = sender(2, 1).groups(20);
    for (shard const& s : stream) {
        if (s.parity) {  // parity alone never completes a group: everything waits
            (void)dec.decode(s.datagram, 0);
            EXPECT_LE(dec.queued(), 9U);
        }
    }
    EXPECT_EQ(dec.queued(), 9U);
    EXPECT_EQ(dec.counters().evicted, 11U);
    // The oldest went first: the queue holds the last nine groups' parity shards.
    std::vector<bytes> const got = feed(dec, std::vector<shard>{stream[3 * 19]});
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0], stream[3 * 19 + 1].kcp);
}

TEST(kcp_fec_decoder, tunes_to_a_4_2_sender_from_10_3) {
    sender s(4, 2);
    fec_decoder dec(10, 3);
    (void)feed(dec, s.groups(3));
    EXPECT_EQ(dec.data_shards(), 4U);
    EXPECT_EQ(dec.parity_shards(), 2U);
    EXPECT_EQ(dec.queue_limit(), 18U);
    EXPECT_EQ(dec.counters().retunes, 1U);
    std::vector<shard> const later = s.groups(1);
    std::vector<bytes> const got = feed(dec, without(later, 0b000011));
    EXPECT_EQ(got, (std::vector<bytes>{later[0].kcp, later[1].kcp}));
}

TEST(kcp_fec_decoder, tunes_from_fec_off) {
    fec_decoder dec(0, 0);
    EXPECT_EQ(dec.data_shards(), 1U) << "kcp-go's decoder for a receiver with FEC off";
    EXPECT_EQ(dec.parity_shards(), 1U);
    EXPECT_EQ(fec_decoder(200, 57).data_shards(), 1U) << "and for parameters it refuses";
    sender s(4, 2);
    (void)feed(dec, s.groups(3));
    EXPECT_EQ(dec.data_shards(), 4U);
    EXPECT_EQ(dec.parity_shards(), 2U);
    std::vector<shard> const later = s.groups(1);
    std::vector<bytes> const got = feed(dec, without(later, 0b000100));
    EXPECT_EQ(got, (std::vector<bytes>{later[2].kcp}));
}

TEST(kcp_fec_decoder, drops_malformed_shards) {
    fec_decoder dec(2, 1);
    std::vector<bytes> const bad{
        from_hex("04030201 5100 0002 0d0c0b0a"),     // plain KCP: no FEC flag
        from_hex("00000000 f200"),                   // parity without a byte
        from_hex("00000000 f200 00"),                // shorter than kcp-go's 8 bytes
        from_hex("00000000 f100 02"),                // data cut in its size field
        from_hex("00000000 f100 0100 aa"),           // size below 2
        from_hex("00000000 f100 0000"),              // size 0
        from_hex("00000000 f100 0400 aa"),           // size past the datagram
        from_hex("00000000 f100 ffff") + bytes(40),  // size far past it
        from_hex("00000000 f200") + bytes(1495),     // longer than any datagram kcp-go reads
    };
    for (bytes const& b : bad) {
        EXPECT_TRUE(dec.decode(b, 0).empty()) << to_hex(b);
    }
    EXPECT_EQ(dec.counters().malformed, bad.size());
    EXPECT_EQ(dec.counters().shards_in, 0U);
    EXPECT_EQ(dec.queued(), 0U);
    (void)dec.decode(from_hex("00000000 f100 0300 aa"), 0);
    (void)dec.decode(from_hex("01000000 f200") + bytes(1494), 0);
    EXPECT_EQ(dec.counters().malformed, bad.size()) << "the extremes that are fine";
}

/// A parity shard made from `d1_shard` (bytes from offset 6) with the true first data shard.
bytes forged_parity(bytes const& d0, bytes const& d1_shard) {
    auto rs = smux::kcp::reed_solomon::create(2, 1);
    bytes a(d0.begin() + 6, d0.end());
    bytes b = d1_shard;
    std::size_t const len = std::max(a.size(), b.size());
    a.resize(len);
    b.resize(len);
    bytes p(len);
    std::vector<std::byte const*> in{a.data(), b.data()};
    std::vector<std::byte*> out{p.data()};
    rs->encode(in, out, len);
    return from_hex("02000000 f200") + p;
}

TEST(kcp_fec_decoder, rebuilt_shards_with_impossible_sizes_are_counted_not_handed_out) {
    bytes const d0 = from_hex("00000000 f100 1f00") + from_hex(kcp_vectors::push_b);
    for (bytes const& fake : {bytes(31),                        // size 0
                              from_hex("0100") + bytes(29),     // size 1
                              from_hex("ffff") + bytes(29),     // past the shard
                              from_hex("2000") + bytes(29)}) {  // one past
        fec_decoder dec(2, 1);
        (void)dec.decode(d0, 0);
        EXPECT_TRUE(dec.decode(forged_parity(d0, fake), 0).empty()) << to_hex(fake);
        EXPECT_EQ(dec.counters().recovery_failed, 1U);
        EXPECT_EQ(dec.counters().recovered, 0U);
        EXPECT_EQ(dec.queued(), 0U);
    }
    fec_decoder dec(2, 1);  // the largest size that fits is fine
    (void)dec.decode(d0, 0);
    auto const r = dec.decode(forged_parity(d0, from_hex("1f00") + bytes(29)), 0);
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(r[0].size(), 29U);
}

/// Writes an FEC header over random bytes; data shards get a fitting size field if `fit`.
void stamp(bytes& b, std::uint32_t seqid, bool data, bool fit) {
    for (std::size_t i = 0; i < 4; ++i) {
        b[i] = static_cast<std::byte>(seqid >> (8 * i));
    }
    b[4] = std::byte{static_cast<std::uint8_t>(data ? 0xf1 : 0xf2)};
    b[5] = std::byte{0};
    if (data && fit) {
        auto const size = static_cast<std::uint16_t>(b.size() - 6);
        b[6] = static_cast<std::byte>(size & 0xFFU);
        b[7] = static_cast<std::byte>(size >> 8);
    }
}

TEST(kcp_fec_decoder, floods_of_hostile_shards_stay_within_bounds) {
    std::mt19937 rng(99);
    fec_decoder dec(10, 3);
    std::size_t const bound = (3 * 256 + 1 + 128) * smux::kcp::mtu_limit;
    std::uint32_t seq = 0;
    for (int i = 0; i < 100000; ++i) {
        // Runs of consecutive seqids with random flags keep autotuning busy; jumps and random
        // lengths do the rest.
        seq = rng() % 8 == 0 ? static_cast<std::uint32_t>(rng()) : seq + 1;
        bool const data = rng() % 3 != 0;
        std::size_t const len = 8 + rng() % (rng() % 16 == 0 ? 1600 : 120);
        bytes b(len);
        for (std::byte& x : b) {
            x = static_cast<std::byte>(rng());
        }
        stamp(b, seq, data, rng() % 2 == 0);
        for (auto const r : dec.decode(b, static_cast<std::uint32_t>(i * 7))) {
            ASSERT_LE(r.size(), smux::kcp::mtu_limit - 8);
        }
        ASSERT_LE(dec.queued(), dec.queue_limit());
        ASSERT_LE(dec.storage_bytes(), bound);
    }
    auto const& c = dec.counters();
    EXPECT_EQ(c.shards_in + c.malformed, 100000U);
    EXPECT_GT(c.malformed, 0U);
    EXPECT_GT(c.retunes, 0U);
}

}  // namespace

namespace {

using smux::kcp::fec_autotune;

fec_autotune sampled(std::size_t d, std::size_t p, std::uint32_t from, std::uint32_t count) {
    fec_autotune t;
    for (std::uint32_t s = from; s != from + count; ++s) {
        t.sample(s % (d + p) < d, s);
    }
    return t;
}

TEST(kcp_fec_autotune, finds_the_runs_of_a_regular_pattern) {
    fec_autotune const t = sampled(10, 3, 0, 258);
    EXPECT_EQ(t.find_period(true), 10);
    EXPECT_EQ(t.find_period(false), 3);
    fec_autotune const late = sampled(4, 2, 1000000, 600);  // the ring holds the last 258
    EXPECT_EQ(late.find_period(true), 4);
    EXPECT_EQ(late.find_period(false), 2);
    fec_autotune const wrapping = sampled(4, 2, 0xFFFFFF00U, 512);
    EXPECT_EQ(wrapping.find_period(true), 4);
    EXPECT_EQ(wrapping.find_period(false), 2);
}

TEST(kcp_fec_autotune, needs_consecutive_seqids_on_both_edges) {
    EXPECT_LE(fec_autotune{}.find_period(true), 0);
    EXPECT_LE(sampled(4, 2, 0, 5).find_period(false), 0) << "the parity run has no end yet";
    fec_autotune gap = sampled(4, 2, 0, 258);
    gap.sample(false, 1000 * 258 + 5);  // slot 5 now holds a seqid from elsewhere
    EXPECT_EQ(gap.find_period(true), 4) << "the data run after the gap (12..15) is whole";
    EXPECT_LE(gap.find_period(false), 0) << "the first parity run meets the gap";
}

}  // namespace
