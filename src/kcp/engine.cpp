// The KCP engine's configuration, user-side calls (send, recv) and timer entry points. The
// protocol halves are in engine_input.cpp and engine_flush.cpp.

#include "smux/kcp/engine.hpp"

#include <algorithm>
#include <cstring>

#include "engine_impl.hpp"

namespace smux::kcp {

namespace {

constexpr std::size_t min_mtu = 50;  // kcp-go SetMtu refuses less

std::uint32_t clamp_interval(std::uint32_t ms) noexcept {
    return std::clamp(ms, 10U, 5000U);
}

}  // namespace

void apply_mode(engine_config& cfg, mode m) noexcept {
    // kcptun client/main.go and server/main.go: nodelay, interval, resend, nc.
    switch (m) {
        case mode::normal:
            cfg.nodelay = false;
            cfg.interval = 40;
            break;
        case mode::fast:
            cfg.nodelay = false;
            cfg.interval = 30;
            break;
        case mode::fast2:
            cfg.nodelay = true;
            cfg.interval = 20;
            break;
        case mode::fast3:
            cfg.nodelay = true;
            cfg.interval = 10;
            break;
    }
    cfg.resend = 2;
    cfg.nc = true;
}

std::optional<mode> parse_mode(std::string_view name) noexcept {
    if (name == "normal") {
        return mode::normal;
    }
    if (name == "fast") {
        return mode::fast;
    }
    if (name == "fast2") {
        return mode::fast2;
    }
    if (name == "fast3") {
        return mode::fast3;
    }
    return std::nullopt;
}

std::string validate(engine_config const& cfg) {
    if (cfg.mtu < min_mtu || cfg.mtu > mtu_limit) {
        return "mtu " + std::to_string(cfg.mtu) + " is outside 50..1500";
    }
    if (cfg.header_reserve >= cfg.mtu - segment_header_size) {
        return "header_reserve " + std::to_string(cfg.header_reserve) +
               " leaves no payload in an mtu of " + std::to_string(cfg.mtu);
    }
    if (cfg.snd_wnd == 0) {
        return "snd_wnd must be at least 1";
    }
    if (cfg.rcv_wnd == 0 || cfg.rcv_wnd > 0xffff) {
        return "rcv_wnd " + std::to_string(cfg.rcv_wnd) + " is outside 1..65535";
    }
    return {};
}

engine::impl::impl(engine_config const& c)
    : cfg(c),
      mss(static_cast<std::uint32_t>(c.mtu - segment_header_size - c.header_reserve)),
      rmt_wnd(32),  // kcp-go assumes the peer's default rcv_wnd until it hears from it
      buffer(c.mtu) {
    cfg.interval = clamp_interval(cfg.interval);
    rtt.min_rto = cfg.nodelay ? detail::rto_nodelay_min : detail::rto_normal_min;
}

engine::engine(engine_config const& cfg) {
    if (auto why = validate(cfg); !why.empty()) {
        throw engine_config_error("kcp engine config: " + why);
    }
    impl_ = std::make_unique<impl>(cfg);
}

engine::~engine() = default;
engine::engine(engine&&) noexcept = default;
engine& engine::operator=(engine&&) noexcept = default;

engine_config const& engine::config() const noexcept {
    return impl_->cfg;
}
std::size_t engine::mss() const noexcept {
    return impl_->mss;
}

input_status engine::input(std::span<std::byte const> kcp_bytes, bool regular, std::uint32_t now,
                           datagram_sink out) {
    return impl_->input(kcp_bytes, regular, now, out);
}

void engine::flush(std::uint32_t now, datagram_sink out) {
    impl_->flush(now, out, false);
}

std::uint32_t engine::update(std::uint32_t now, datagram_sink out) {
    std::uint32_t const wait = impl_->flush(now, out, false);
    impl_->updated = true;
    impl_->next_update = now + wait;
    if (impl_->idle()) {
        impl_->pool.trim(detail::idle_pool_blocks);
        if (impl_->acklist.capacity() > impl_->max_pending_acks()) {
            impl_->acklist.shrink_to_fit();
        }
    }
    return impl_->next_update;
}

std::uint32_t engine::check(std::uint32_t now) const noexcept {
    if (!impl_->updated || detail::diff(impl_->next_update, now) <= 0) {
        return now;
    }
    return impl_->next_update;
}

// ---- sending side

std::size_t engine::wait_snd() const noexcept {
    return impl_->snd_buf.size() + impl_->snd_queue.size();
}

bool engine::can_send() const noexcept {
    // sess.go WriteBuffers: writers wait while WaitSnd >= snd_wnd or >= the peer's window.
    return wait_snd() < std::min(impl_->cfg.snd_wnd, impl_->rmt_wnd);
}

std::size_t engine::send(std::span<std::byte const> bytes) {
    impl& s = *impl_;
    if (bytes.empty() || !can_send()) {
        return 0;
    }
    std::size_t taken = 0;
    if (s.cfg.stream && !s.snd_queue.empty() && s.snd_queue.back().len < s.mss) {
        // kcp.go Send: stream mode tops up the last unsent segment first.
        detail::data_segment& tail = s.snd_queue.back();
        std::size_t const n = std::min<std::size_t>(s.mss - tail.len, bytes.size());
        std::memcpy(tail.data->data() + tail.len, bytes.data(), n);
        tail.len = static_cast<std::uint16_t>(tail.len + n);
        taken = n;
    }
    while (taken < bytes.size() && can_send()) {
        std::size_t const n = std::min<std::size_t>(s.mss, bytes.size() - taken);
        detail::data_segment seg;
        seg.data = s.pool.acquire();
        std::memcpy(seg.data->data(), bytes.data() + taken, n);
        seg.len = static_cast<std::uint16_t>(n);
        s.snd_queue.push_back(std::move(seg));
        taken += n;
    }
    s.counters.bytes_sent += taken;
    return taken;
}

// ---- receiving side

std::uint16_t engine::impl::wnd_unused() const noexcept {
    if (rcv_queue.size() < cfg.rcv_wnd) {
        return static_cast<std::uint16_t>(cfg.rcv_wnd - rcv_queue.size());
    }
    return 0;
}

bool engine::impl::idle() const noexcept {
    return snd_queue.empty() && snd_buf.empty() && rcv_buf.empty() && rcv_queue.empty() &&
           !reading.data;
}

bool engine::impl::take_front() {
    // kcp.go Recv for one segment: it leaves rcv_queue (freeing a window slot), more in-order
    // segments move up, and a queue that was full asks flush to tell the peer (WINS).
    if (rcv_queue.empty()) {
        return false;
    }
    bool const was_full = rcv_queue.size() >= cfg.rcv_wnd;
    pool.release(std::move(reading.data));
    reading = std::move(rcv_queue.front());
    reading_offset = 0;
    rcv_queue.pop_front();
    rcv_queue_bytes -= reading.len;
    move_in_order();
    if (was_full && rcv_queue.size() < cfg.rcv_wnd) {
        probe |= detail::probe_ask_tell;
    }
    return true;
}

std::size_t engine::recv(std::span<std::byte> out) {
    impl& s = *impl_;
    std::size_t done = 0;
    while (done < out.size()) {
        if (s.reading.data && s.reading_offset < s.reading.len) {
            std::size_t const n = std::min(out.size() - done, s.reading.len - s.reading_offset);
            std::memcpy(out.data() + done, s.reading.data->data() + s.reading_offset, n);
            s.reading_offset += n;
            done += n;
        } else if (!s.take_front()) {
            break;
        }
    }
    if (s.reading.data && s.reading_offset == s.reading.len) {
        s.pool.release(std::move(s.reading.data));
    }
    s.counters.bytes_received += done;
    return done;
}

std::size_t engine::readable() const noexcept {
    std::size_t const partial =
        impl_->reading.data ? impl_->reading.len - impl_->reading_offset : 0;
    return partial + impl_->rcv_queue_bytes;
}

std::size_t engine::peek(std::span<std::byte> out) const noexcept {
    impl const& s = *impl_;
    std::size_t done = 0;
    auto copy = [&](std::span<std::byte const> from) {
        std::size_t const n = std::min(out.size() - done, from.size());
        std::memcpy(out.data() + done, from.data(), n);
        done += n;
    };
    if (s.reading.data) {
        copy(s.reading.payload().subspan(s.reading_offset));
    }
    for (auto it = s.rcv_queue.begin(); it != s.rcv_queue.end() && done < out.size(); ++it) {
        copy(it->payload());
    }
    return done;
}

engine_stats engine::stats() const noexcept {
    impl const& s = *impl_;
    engine_stats st = s.counters;
    st.srtt = s.rtt.srtt;
    st.rttvar = s.rtt.rttvar;
    st.rto = s.rtt.rto;
    st.snd_wnd = s.cfg.snd_wnd;
    st.rcv_wnd = s.cfg.rcv_wnd;
    st.rmt_wnd = s.rmt_wnd;
    st.cwnd = s.cwnd;
    st.snd_queue = s.snd_queue.size();
    st.snd_buf = s.snd_buf.size();
    st.rcv_buf = s.rcv_buf.size();
    st.rcv_queue = s.rcv_queue.size();
    st.pending_acks = s.acklist.size();
    st.pooled_blocks = s.pool.size();
    st.dead_link = s.dead_link;
    return st;
}

}  // namespace smux::kcp
