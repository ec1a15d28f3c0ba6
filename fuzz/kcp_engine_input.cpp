// One KCP engine fed arbitrary datagrams (regular and FEC-recovered), with the application
// sending and reading and the clock moving, all chosen by the input. Whatever arrives: no
// crash, the engine's memory within the bounds engine.hpp promises, and every datagram it
// emits fits the MTU and parses as well-formed segments of its own conversation.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <smux/kcp/engine.hpp>
#include <smux/kcp/segment.hpp>
#include <span>
#include <vector>

#include "kcp_fuzz_input.hpp"

namespace {

using smux::fuzz::kcp_check;
namespace kcp = smux::kcp;

constexpr std::uint32_t conv = 0x01020304;  // KCP.md §6's, so the seeds' segments are ours

/// Eight configuration bytes; empty when the engine refuses the result.
std::optional<kcp::engine_config> read_config(smux::fuzz::input_reader& in) {
    kcp::engine_config cfg;
    cfg.conv = conv;
    auto const flags = in.u8();
    cfg.nodelay = (flags & 1U) != 0;
    cfg.nc = (flags & 2U) != 0;
    cfg.stream = (flags & 4U) != 0;
    cfg.ack_nodelay = (flags & 8U) != 0;
    cfg.snd_wnd = in.u8() + 1U;
    cfg.rcv_wnd = in.u8() + 1U;
    cfg.resend = in.u8() % 4U;
    cfg.interval = in.u8() + 10U;
    cfg.mtu = 50 + in.u16() % 1451U;
    cfg.header_reserve = in.u8() % 40U;
    if (!kcp::validate(cfg).empty()) {
        return std::nullopt;
    }
    return cfg;
}

/// What engine.hpp promises whatever the peer sends.
void check_bounds(kcp::engine const& e) {
    auto const s = e.stats();
    auto const& cfg = e.config();
    kcp_check(s.rcv_buf <= cfg.rcv_wnd, "rcv_buf above rcv_wnd");
    kcp_check(s.rcv_queue <= cfg.rcv_wnd, "rcv_queue above rcv_wnd");
    kcp_check(s.snd_queue + s.snd_buf <= cfg.snd_wnd, "queued + in flight above snd_wnd");
    kcp_check(s.pending_acks <= 2 * static_cast<std::size_t>(cfg.rcv_wnd),
              "pending ACKs above 2 * rcv_wnd");
}

/// Every datagram the engine emits: within the MTU, whole segments of this conversation.
struct output_checker {
    kcp::engine_config const* cfg;

    void operator()(std::span<std::byte> d) const {
        kcp_check(d.size() <= cfg->mtu, "datagram above the MTU");
        kcp_check(d.size() >= cfg->header_reserve + kcp::segment_header_size,
                  "datagram without a segment");
        kcp::segment_reader r(d.subspan(cfg->header_reserve));
        while (auto seg = r.next()) {
            kcp_check(seg->header.conv == conv, "segment of another conversation emitted");
        }
        kcp_check(!r.malformed(), "malformed segment emitted");
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    smux::fuzz::input_reader in(data, size);
    auto const cfg = read_config(in);
    if (!cfg) {
        return 0;
    }
    kcp::engine e(*cfg);
    output_checker out{&e.config()};
    std::uint32_t now = 0x7fff'0000;  // near a sign flip of the wrapping clock
    std::vector<std::byte> buf(8192);
    for (int i = 0; i < 4096 && !in.empty(); ++i) {
        auto const op = in.u8();
        switch (op % 6) {
            case 0:
            case 1: {  // one datagram; op 1 marks it FEC-recovered (not regular)
                auto const d = in.bytes(in.u16() % 1601U);
                (void)e.input(d, op % 6 == 0, now, out);
                break;
            }
            case 2:  // the clock moves (up to 65 s, past RTO back-offs) and the tick runs
                now += in.u16();
                (void)e.update(now, out);
                break;
            case 3: {
                auto const n = in.u16() % (buf.size() + 1);
                std::fill_n(buf.begin(), n, std::byte{op});
                (void)e.send(std::span<std::byte const>(buf.data(), n));
                break;
            }
            case 4:
                (void)e.recv(std::span<std::byte>(buf.data(), in.u16() % (buf.size() + 1)));
                break;
            default:
                e.flush(now, out);
                break;
        }
        check_bounds(e);
    }
    return 0;
}
