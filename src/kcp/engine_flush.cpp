// The send half of the KCP engine: kcp-go's flush (kcp.go), which builds datagrams of at
// most mtu bytes, header_reserve bytes left free at the front of each.

#include <algorithm>
#include <cstring>

#include "engine_impl.hpp"

namespace smux::kcp {

using detail::diff;

void engine::impl::emit(datagram_sink out) {
    ++counters.datagrams_out;
    counters.bytes_out += buffer_used;
    out(std::span<std::byte>(buffer.data(), buffer_used));
    buffer_used = cfg.header_reserve;
}

void engine::impl::make_space(std::size_t need, datagram_sink out) {
    if (buffer_used + need > cfg.mtu) {
        emit(out);
    }
}

void engine::impl::write_segment(segment_header const& h, std::span<std::byte const> payload) {
    encode_segment_header(h, std::span<std::byte, segment_header_size>(buffer.data() + buffer_used,
                                                                       segment_header_size));
    buffer_used += segment_header_size;
    if (!payload.empty()) {
        std::memcpy(buffer.data() + buffer_used, payload.data(), payload.size());
        buffer_used += payload.size();
    }
    ++counters.segments_out;
}

void engine::impl::flush_acks(segment_header& h, datagram_sink out) {
    // ACKs for sn below rcv_nxt are redundant with una, except the last one, which still
    // carries a fresh ts for the peer's RTT sample (kcp-go: "filter jitters").
    for (std::size_t i = 0; i < acklist.size(); ++i) {
        make_space(segment_header_size, out);
        if (diff(acklist[i].sn, rcv_nxt) >= 0 || i + 1 == acklist.size()) {
            h.sn = acklist[i].sn;
            h.ts = acklist[i].ts;
            write_segment(h, {});
        }
    }
    acklist.clear();
}

void engine::impl::update_probe(std::uint32_t now) {
    // While the peer advertises no room, ask it (WASK) after 7 s, then back off by 1.5x up
    // to 120 s.
    if (rmt_wnd != 0) {
        ts_probe = 0;
        probe_wait = 0;
        return;
    }
    if (probe_wait == 0) {
        probe_wait = detail::probe_initial;
        ts_probe = now + probe_wait;
    } else if (diff(now, ts_probe) >= 0) {
        probe_wait = std::max(probe_wait, detail::probe_initial);
        probe_wait = std::min(probe_wait + probe_wait / 2, detail::probe_limit);
        ts_probe = now + probe_wait;
        probe |= detail::probe_ask_send;
    }
}

std::size_t engine::impl::queue_new_segments(std::uint32_t cwnd_now) {
    std::size_t moved = 0;
    while (!snd_queue.empty() && diff(snd_nxt, snd_una + cwnd_now) < 0) {
        detail::data_segment seg = std::move(snd_queue.front());
        snd_queue.pop_front();
        seg.sn = snd_nxt++;
        snd_buf.push_back(std::move(seg));
        ++moved;
    }
    return moved;
}

std::uint32_t engine::impl::send_segments(std::uint32_t now, segment_header const& h,
                                          std::size_t new_segments, datagram_sink out) {
    std::uint32_t const resent = cfg.resend > 0 ? cfg.resend : 0xffffffffU;
    std::int32_t min_wait = static_cast<std::int32_t>(cfg.interval);
    std::uint64_t changed = 0;
    std::uint64_t lost = 0;
    for (detail::data_segment& seg : snd_buf) {
        if (seg.acked) {
            continue;
        }
        bool send = true;
        if (seg.xmit == 0) {  // first transmission
            seg.rto = rtt.rto;
            seg.resendts = now + seg.rto;
        } else if (seg.fastack >= resent) {
            seg.fastack = 0;
            seg.rto = rtt.rto;
            seg.resendts = now + seg.rto;
            ++changed;
            ++counters.fast_retransmits;
        } else if (seg.fastack > 0 && new_segments == 0) {  // early retransmit
            seg.fastack = 0;
            seg.rto = rtt.rto;
            seg.resendts = now + seg.rto;
            ++changed;
            ++counters.early_retransmits;
        } else if (diff(now, seg.resendts) >= 0) {  // timeout: kcp-go adds, C ikcp doubles
            seg.rto += cfg.nodelay ? rtt.rto / 2 : rtt.rto;
            seg.fastack = 0;
            seg.resendts = now + seg.rto;
            ++lost;
            ++counters.timeout_retransmits;
        } else {
            send = false;
        }
        if (send) {
            ++seg.xmit;
            seg.ts = now;
            segment_header ph = h;
            ph.cmd = command::push;
            ph.frg = seg.frg;
            ph.ts = seg.ts;
            ph.sn = seg.sn;
            ph.len = seg.len;
            make_space(segment_header_size + seg.len, out);
            write_segment(ph, seg.payload());
            ++counters.data_segments_out;
            dead_link = dead_link || seg.xmit >= detail::dead_link_xmit;
        }
        if (std::int32_t const wait = diff(seg.resendts, now); wait > 0 && wait < min_wait) {
            min_wait = wait;
        }
    }
    counters.retransmits += changed + lost;
    if (!cfg.nc) {
        shrink_cwnd(changed, lost, resent);
    }
    return static_cast<std::uint32_t>(min_wait);
}

void engine::impl::shrink_cwnd(std::uint64_t changed, std::uint64_t lost, std::uint32_t resent) {
    // kcp.go flush, congestion control with nc = 0: rate halving on fast/early retransmits,
    // back to one segment on a timeout.
    if (changed > 0) {
        ssthresh = std::max((snd_nxt - snd_una) / 2, detail::ssthresh_min);
        cwnd = ssthresh + resent;  // wraps when resend is 0, as in kcp-go
        incr = cwnd * mss;
    }
    if (lost > 0) {
        ssthresh = std::max(cwnd_at_flush / 2, detail::ssthresh_min);
        cwnd = 1;
        incr = mss;
    }
    if (cwnd < 1) {
        cwnd = 1;
        incr = mss;
    }
}

std::uint32_t engine::impl::flush(std::uint32_t now, datagram_sink out, bool ack_only) {
    segment_header h{.conv = cfg.conv,
                     .cmd = command::ack,
                     .frg = 0,
                     .wnd = wnd_unused(),
                     .ts = 0,
                     .sn = 0,
                     .una = rcv_nxt,
                     .len = 0};
    buffer_used = cfg.header_reserve;
    flush_acks(h, out);
    if (ack_only) {
        if (buffer_used > cfg.header_reserve) {
            emit(out);
        }
        return cfg.interval;
    }

    update_probe(now);
    // WASK and WINS reuse the header: their ts and sn are the last ACK's (meaningless).
    if ((probe & detail::probe_ask_send) != 0) {
        h.cmd = command::window_ask;
        make_space(segment_header_size, out);
        write_segment(h, {});
    }
    if ((probe & detail::probe_ask_tell) != 0) {
        h.cmd = command::window_tell;
        make_space(segment_header_size, out);
        write_segment(h, {});
    }
    probe = 0;

    cwnd_at_flush = std::min(cfg.snd_wnd, rmt_wnd);
    if (!cfg.nc) {
        cwnd_at_flush = std::min(cwnd, cwnd_at_flush);
    }
    std::size_t const fresh = queue_new_segments(cwnd_at_flush);
    std::uint32_t const wait = send_segments(now, h, fresh, out);
    if (buffer_used > cfg.header_reserve) {
        emit(out);
    }
    return wait;
}

}  // namespace smux::kcp
