// One FEC decoder fed arbitrary shards while its clock moves (expiry, wrap-around). Whatever
// arrives: no crash, the queue within its limit, storage within the bound fec_decoder.hpp
// states, and every rebuilt shard's KCP bytes within a datagram.

#include <cstddef>
#include <cstdint>
#include <smux/kcp/fec_codec.hpp>
#include <smux/kcp/fec_decoder.hpp>
#include <smux/kcp/packet.hpp>

#include "kcp_fuzz_input.hpp"

namespace {

using smux::fuzz::kcp_check;
namespace kcp = smux::kcp;

/// (3·256 + 1 + 128) shards of mtu_limit bytes, the decoder's documented ceiling.
constexpr std::size_t max_storage = (3 * 256 + 1 + 128) * kcp::mtu_limit;

void check_after(kcp::fec_decoder const& dec, std::span<std::span<std::byte const> const> rebuilt) {
    kcp_check(dec.queued() <= dec.queue_limit(), "queue above its limit");
    kcp_check(dec.queue_limit() == 3 * (dec.data_shards() + dec.parity_shards()),
              "queue limit is not 3(d+p)");
    kcp_check(dec.data_shards() + dec.parity_shards() <= kcp::fec_max_total_shards,
              "more than 256 shards per group");
    kcp_check(dec.storage_bytes() <= max_storage, "storage above its bound");
    kcp_check(rebuilt.size() <= dec.data_shards(), "more rebuilt shards than data shards");
    for (auto const r : rebuilt) {
        kcp_check(r.size() + kcp::fec_data_header_size <= kcp::mtu_limit,
                  "rebuilt shard larger than a datagram");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    smux::fuzz::input_reader in(data, size);
    // Both valid parameters and ones kcp-go refuses (the decoder then starts at 1/1).
    std::size_t const d = in.u8() % 24U;
    std::size_t const p = in.u8() % 12U;
    kcp::fec_decoder dec(d, p);
    std::uint32_t now = 0xffff'0000;  // the clock wraps within reach of the input
    for (int i = 0; i < 4096 && !in.empty(); ++i) {
        // A step byte: mostly small moves, sometimes past fec_expire_ms.
        auto const step = in.u8();
        now += step < 0xf0 ? step : (step - 0xefU) * 10'000U;
        auto const shard = in.bytes(in.u16() % 1601U);
        check_after(dec, dec.decode(shard, now));
    }
    return 0;
}
