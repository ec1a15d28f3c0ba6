#ifndef SMUX_SRC_KCP_ENGINE_IMPL_HPP
#define SMUX_SRC_KCP_ENGINE_IMPL_HPP

// The state of one KCP engine, shared by engine.cpp (send, recv, config), engine_input.cpp
// and engine_flush.cpp. Field names follow kcp-go's KCP struct (kcp.go) where one exists.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "payload_pool.hpp"
#include "rto.hpp"
#include "smux/kcp/engine.hpp"
#include "smux/kcp/export.hpp"

namespace smux::kcp::detail {

/// A data segment on either side. Payload bytes are in `data` (released once acked).
struct data_segment {
    std::uint32_t sn = 0;
    std::uint32_t ts = 0;
    std::uint32_t resendts = 0;
    std::uint32_t rto = 0;
    std::uint32_t xmit = 0;
    std::uint32_t fastack = 0;
    std::uint16_t len = 0;
    std::uint8_t frg = 0;
    bool acked = false;
    payload_ptr data;

    [[nodiscard]] std::span<std::byte const> payload() const noexcept {
        return {data->data(), len};
    }
};

struct ack_item {
    std::uint32_t sn;
    std::uint32_t ts;
};

inline constexpr std::uint32_t probe_ask_send = 1;  // IKCP_ASK_SEND: send WASK
inline constexpr std::uint32_t probe_ask_tell = 2;  // IKCP_ASK_TELL: send WINS
inline constexpr std::uint32_t probe_initial = 7000;
inline constexpr std::uint32_t probe_limit = 120000;
inline constexpr std::uint32_t dead_link_xmit = 20;
inline constexpr std::uint32_t ssthresh_initial = 2;
inline constexpr std::uint32_t ssthresh_min = 2;
/// Payload blocks an idle engine keeps.
inline constexpr std::size_t idle_pool_blocks = 4;

}  // namespace smux::kcp::detail

namespace smux::kcp {

// Hidden: a class nested in an exported one would be exported with it.
struct SMUX_KCP_NO_EXPORT engine::impl {
    explicit impl(engine_config const& cfg);

    engine_config cfg;
    std::uint32_t mss;

    std::uint32_t snd_una = 0;
    std::uint32_t snd_nxt = 0;
    std::uint32_t rcv_nxt = 0;
    std::uint32_t rmt_wnd;
    std::uint32_t cwnd = 0;
    std::uint32_t incr = 0;
    std::uint32_t ssthresh = detail::ssthresh_initial;
    std::uint32_t cwnd_at_flush = 0;  // the send window the last flush used
    std::uint32_t probe = 0;
    std::uint32_t ts_probe = 0;
    std::uint32_t probe_wait = 0;
    bool dead_link = false;
    detail::rtt_estimator rtt;

    std::deque<detail::data_segment> snd_queue;
    /// In flight, sorted, with consecutive sn from snd_una: segments leave only at the front.
    std::deque<detail::data_segment> snd_buf;
    std::deque<detail::data_segment> rcv_buf;  // sorted by sn, all within the receive window
    std::deque<detail::data_segment> rcv_queue;
    std::size_t rcv_queue_bytes = 0;
    /// The segment recv() is reading from, already out of rcv_queue (kcp-go's bufptr).
    detail::data_segment reading;
    std::size_t reading_offset = 0;
    std::vector<detail::ack_item> acklist;
    detail::payload_pool pool;

    std::vector<std::byte> buffer;  // one datagram being built, mtu bytes
    std::size_t buffer_used = 0;

    bool updated = false;
    std::uint32_t next_update = 0;
    engine_stats counters;

    // engine_input.cpp
    input_status input(std::span<std::byte const> bytes, bool regular, std::uint32_t now,
                       datagram_sink out);
    void parse_una(std::uint32_t una, bool& slid);
    void parse_ack(std::uint32_t sn);
    void parse_fastack(std::uint32_t sn, std::uint32_t ts);
    bool parse_data(segment_view const& seg);
    void move_in_order();
    void push_ack(std::uint32_t sn, std::uint32_t ts, std::uint32_t now, datagram_sink out);
    void grow_cwnd(std::uint32_t old_una);

    // engine_flush.cpp
    std::uint32_t flush(std::uint32_t now, datagram_sink out, bool ack_only);
    void flush_acks(segment_header& h, datagram_sink out);
    void update_probe(std::uint32_t now);
    std::size_t queue_new_segments(std::uint32_t cwnd_now);
    std::uint32_t send_segments(std::uint32_t now, segment_header const& h,
                                std::size_t new_segments, datagram_sink out);
    void shrink_cwnd(std::uint64_t changed, std::uint64_t lost, std::uint32_t resent);
    void make_space(std::size_t need, datagram_sink out);
    void write_segment(segment_header const& h, std::span<std::byte const> payload);
    void emit(datagram_sink out);

    // engine.cpp
    [[nodiscard]] std::uint16_t wnd_unused() const noexcept;
    [[nodiscard]] std::size_t max_pending_acks() const noexcept {
        return 2 * std::size_t{cfg.rcv_wnd};
    }
    [[nodiscard]] bool idle() const noexcept;
    bool take_front();
};

}  // namespace smux::kcp

#endif
