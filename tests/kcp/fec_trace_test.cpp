// kcp-go's fecEncoder and fecDecoder against ours on the same traffic: go/fec_trace/run.sh
// sends datagrams through kcp-go's encoder, loses, duplicates and reorders them by a fixed
// generator, decodes them with kcp-go's decoder and prints a digest per scenario (pasted
// below). This test repeats the scenarios with smux::kcp and compares every field: the
// datagrams sent (encoder), what was rebuilt and at which step (decoder, autotuning
// included), rebuilt shards refused for their size, the queue left and the final parameters.

#include <gtest/gtest.h>

#include <smux/kcp/fec_decoder.hpp>
#include <smux/kcp/fec_encoder.hpp>
#include <smux/kcp/packet.hpp>
#include <vector>

namespace {

using bytes = std::vector<std::byte>;

struct scenario {
    std::size_t send_data, send_parity, recv_data, recv_parity, datagrams;
    std::uint32_t seed, steps, recovered, refused, sent_crc, recovered_crc;
    std::size_t queued, final_data, final_parity;
};

// Output of go/fec_trace/run.sh (kcp-go 5.6.1 as packaged by Debian 12); go/fec_trace/check.sh
// (ctest kcp.fec_trace_rows_match_kcp_go) fails when the two differ, so keep one row a line.
constexpr scenario go_trace[] = {
    {10, 3, 10, 3, 3000, 1u, 3516u, 325u, 0u, 0x6b2cd9d5u, 0x072062f0u, 30, 10, 3},
    {2, 1, 2, 1, 2000, 2u, 2740u, 306u, 0u, 0x918cc4f2u, 0xf95120f3u, 9, 2, 1},
    {4, 2, 10, 3, 3000, 3u, 4057u, 399u, 0u, 0x641a767eu, 0x33659dd3u, 18, 4, 2},
    {4, 2, 0, 0, 3000, 4u, 4076u, 399u, 20u, 0x4c9a413cu, 0xa75825c5u, 16, 4, 2},
    {1, 1, 1, 1, 1000, 5u, 1804u, 889u, 0u, 0x230901cau, 0xa6e9be7eu, 0, 1, 1},
    {20, 10, 20, 10, 5000, 6u, 6809u, 725u, 0u, 0x6045bc61u, 0xa97e0717u, 78, 20, 10},
    {10, 3, 3, 2, 3000, 7u, 3520u, 177u, 94u, 0x484b1e2bu, 0xc68ad282u, 39, 10, 3},
};

/// The generator of fec_trace_test.go: x = x·1103515245 + 12345 (mod 2^32), value = x >> 16.
struct trace_lcg {
    std::uint32_t x;
    std::uint32_t next() noexcept {
        x = x * 1103515245U + 12345U;
        return x >> 16;
    }
};

/// A running CRC-32 as Go's hash (zlib's crc32 combines by chaining, which crc32_ieee lacks).
struct running_crc {
    bytes all;
    void add(std::span<std::byte const> b) { all.insert(all.end(), b.begin(), b.end()); }
    std::uint32_t value() const { return smux::kcp::crc32_ieee(all); }
};

class trace_run {
  public:
    explicit trace_run(scenario const& s) : s_(s), rng_{s.seed}, dec_(s.recv_data, s.recv_parity) {}

    void run() {
        auto enc = smux::kcp::fec_encoder::create(s_.send_data, s_.send_parity, 0);
        for (std::size_t i = 0; i < s_.datagrams; ++i) {
            bytes b(8 + 24 + rng_.next() % 300);
            for (std::size_t k = 8; k < b.size(); ++k) {
                b[k] = static_cast<std::byte>(rng_.next());
            }
            auto const parity = enc->encode(b);
            std::vector<bytes> copies;
            for (auto const& p : parity) {
                copies.emplace_back(p.begin(), p.end());
            }
            emit(b);
            for (bytes const& p : copies) {
                emit(p);
            }
        }
    }

    scenario digest() const {
        scenario d = s_;
        d.steps = steps_;
        d.recovered = recovered_;
        d.refused = static_cast<std::uint32_t>(dec_.counters().recovery_failed);
        d.sent_crc = sent_.value();
        d.recovered_crc = got_.value();
        d.queued = dec_.queued();
        d.final_data = dec_.data_shards();
        d.final_parity = dec_.parity_shards();
        return d;
    }

  private:
    void deliver(bytes const& pkt) {
        ++steps_;
        for (auto const r : dec_.decode(pkt, 0)) {
            ++recovered_;
            bytes step(4);
            for (std::size_t i = 0; i < 4; ++i) {
                step[i] = static_cast<std::byte>(steps_ >> (8 * i));
            }
            got_.add(step);
            got_.add(r);
        }
    }

    void emit(bytes const& pkt) {
        sent_.add(pkt);
        std::uint32_t const r = rng_.next() % 100;
        if (r < 15) {
            return;  // lost
        }
        if (r < 20) {  // duplicated
            deliver(pkt);
            deliver(pkt);
        } else if (r < 30 && held_.empty()) {  // overtaken by the next one
            held_ = pkt;
        } else {
            deliver(pkt);
            if (!held_.empty()) {
                deliver(held_);
                held_.clear();
            }
        }
    }

    scenario s_;
    trace_lcg rng_;
    smux::kcp::fec_decoder dec_;
    running_crc sent_;
    running_crc got_;
    bytes held_;
    std::uint32_t steps_ = 0;
    std::uint32_t recovered_ = 0;
};

TEST(kcp_fec_trace, encoder_and_decoder_do_what_kcp_go_does) {
    for (scenario const& expected : go_trace) {
        trace_run t(expected);
        t.run();
        scenario const got = t.digest();
        SCOPED_TRACE(::testing::Message()
                     << "sender " << expected.send_data << "/" << expected.send_parity
                     << ", receiver " << expected.recv_data << "/" << expected.recv_parity);
        EXPECT_EQ(got.sent_crc, expected.sent_crc) << "datagrams sent";
        EXPECT_EQ(got.steps, expected.steps);
        EXPECT_EQ(got.recovered, expected.recovered);
        EXPECT_EQ(got.recovered_crc, expected.recovered_crc) << "rebuilt bytes and their steps";
        EXPECT_EQ(got.refused, expected.refused) << "rebuilt shards with impossible sizes";
        EXPECT_EQ(got.queued, expected.queued);
        EXPECT_EQ(got.final_data, expected.final_data);
        EXPECT_EQ(got.final_parity, expected.final_parity);
    }
}

}  // namespace
