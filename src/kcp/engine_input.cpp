// The receive half of the KCP engine: kcp-go's Input (kcp.go) and the parse_* helpers it
// calls, with KCP.md §4's input rules.

#include <algorithm>
#include <cstring>

#include "engine_impl.hpp"

namespace smux::kcp {

using detail::diff;

input_status engine::impl::input(std::span<std::byte const> bytes, bool regular, std::uint32_t now,
                                 datagram_sink out) {
    if (bytes.size() < segment_header_size) {
        ++counters.input_errors;
        return input_status::too_short;
    }
    // kcp-go reads datagrams into 1500-byte buffers: it never sees more.
    bytes = bytes.first(std::min(bytes.size(), mtu_limit));
    ++counters.datagrams_in;
    counters.bytes_in += bytes.size();

    std::uint32_t const old_una = snd_una;
    bool slid = false;
    bool any_ack = false;
    std::uint32_t latest_ts = 0;
    segment_reader reader(bytes);
    while (auto seg = reader.next()) {
        segment_header const& h = seg->header;
        if (h.conv != cfg.conv) {
            // kcp-go returns at once: no RTT sample, no flush for what came before.
            ++counters.input_errors;
            return input_status::wrong_conv;
        }
        if (regular) {
            rmt_wnd = h.wnd;
        }
        parse_una(h.una, slid);
        switch (h.cmd) {
            case command::ack:
                parse_ack(h.sn);
                parse_fastack(h.sn, h.ts);
                any_ack = true;
                latest_ts = h.ts;
                break;
            case command::push: {
                bool repeat = true;
                if (diff(h.sn, rcv_nxt + cfg.rcv_wnd) < 0) {
                    push_ack(h.sn, h.ts, now, out);
                    if (diff(h.sn, rcv_nxt) >= 0) {
                        repeat = parse_data(*seg);
                    }
                }
                if (regular && repeat) {
                    ++counters.duplicate_segments;
                }
                break;
            }
            case command::window_ask:
                probe |= detail::probe_ask_tell;
                break;
            case command::window_tell:
                break;
        }
        ++counters.segments_in;
    }
    if (reader.malformed()) {
        ++counters.input_errors;
        return input_status::malformed;
    }

    if (any_ack && regular && diff(now, latest_ts) >= 0) {
        rtt.sample(diff(now, latest_ts), cfg.interval);
    }
    if (!cfg.nc) {
        grow_cwnd(old_una);
    }
    if (slid) {
        flush(now, out, false);
    } else if (cfg.ack_nodelay && !acklist.empty()) {
        flush(now, out, true);
    }
    return input_status::ok;
}

void engine::impl::parse_una(std::uint32_t una, bool& slid) {
    while (!snd_buf.empty() && diff(una, snd_buf.front().sn) > 0) {
        pool.release(std::move(snd_buf.front().data));
        snd_buf.pop_front();
        slid = true;
    }
    snd_una = snd_buf.empty() ? snd_nxt : snd_buf.front().sn;  // kcp.go shrink_buf
}

void engine::impl::parse_ack(std::uint32_t sn) {
    if (diff(sn, snd_una) < 0 || diff(sn, snd_nxt) >= 0) {
        return;
    }
    // snd_buf holds consecutive sn from snd_una (kcp-go marks acked segments and frees them
    // only at una), so the acked one is found by index instead of kcp-go's linear scan.
    detail::data_segment& seg = snd_buf[sn - snd_una];
    seg.acked = true;
    pool.release(std::move(seg.data));
}

void engine::impl::parse_fastack(std::uint32_t sn, std::uint32_t ts) {
    if (diff(sn, snd_una) < 0 || diff(sn, snd_nxt) >= 0) {
        return;
    }
    // Every segment sent before the acked one (by sn, and by ts: not retransmitted since) was
    // probably lost: count a fast-ack on it.
    std::size_t const below = sn - snd_una;
    for (std::size_t i = 0; i < below; ++i) {
        if (diff(snd_buf[i].ts, ts) <= 0) {
            ++snd_buf[i].fastack;
        }
    }
}

void engine::impl::push_ack(std::uint32_t sn, std::uint32_t ts, std::uint32_t now,
                            datagram_sink out) {
    // kcp-go lets the ACK list grow without limit until the next flush; a peer flooding
    // PUSH segments would grow it at will. At the cap, send the pending ACKs at once.
    if (acklist.size() >= max_pending_acks()) {
        ++counters.forced_ack_flushes;
        flush(now, out, true);
    }
    acklist.push_back({sn, ts});
}

bool engine::impl::parse_data(segment_view const& view) {
    // kcp.go parse_data: the caller checked rcv_nxt <= sn < rcv_nxt + rcv_wnd, so rcv_buf
    // never holds more than rcv_wnd segments. Search from the back: arrivals are mostly in
    // order.
    std::uint32_t const sn = view.header.sn;
    auto pos = rcv_buf.end();
    while (pos != rcv_buf.begin()) {
        auto prev = std::prev(pos);
        if (prev->sn == sn) {
            return true;
        }
        if (diff(sn, prev->sn) > 0) {
            break;
        }
        pos = prev;
    }
    detail::data_segment seg;
    seg.sn = sn;
    seg.ts = view.header.ts;
    seg.frg = view.header.frg;
    seg.len = static_cast<std::uint16_t>(view.payload.size());  // <= 1476: input() trims
    seg.data = pool.acquire();
    std::memcpy(seg.data->data(), view.payload.data(), view.payload.size());
    rcv_buf.insert(pos, std::move(seg));
    move_in_order();
    return false;
}

void engine::impl::move_in_order() {
    while (!rcv_buf.empty() && rcv_buf.front().sn == rcv_nxt && rcv_queue.size() < cfg.rcv_wnd) {
        rcv_queue_bytes += rcv_buf.front().len;
        rcv_queue.push_back(std::move(rcv_buf.front()));
        rcv_buf.pop_front();
        ++rcv_nxt;
    }
}

void engine::impl::grow_cwnd(std::uint32_t old_una) {
    // kcp.go Input, "cwnd update when packet arrived": slow start below ssthresh, then
    // congestion avoidance counted in bytes (incr), never above the peer's window.
    if (diff(snd_una, old_una) <= 0 || cwnd >= rmt_wnd) {
        return;
    }
    if (cwnd < ssthresh) {
        ++cwnd;
        incr += mss;
    } else {
        incr = std::max(incr, mss);
        incr += (mss * mss) / incr + mss / 16;
        if ((cwnd + 1) * mss <= incr) {
            cwnd = (incr + mss - 1) / mss;
        }
    }
    if (cwnd > rmt_wnd) {
        cwnd = rmt_wnd;
        incr = rmt_wnd * mss;
    }
}

}  // namespace smux::kcp
