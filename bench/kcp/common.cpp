#include "common.hpp"

#include <sys/resource.h>
#include <sys/time.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <smux/version.hpp>
#include <stdexcept>

namespace kcp_bench {

void put_u64(std::span<std::byte, 8> out, std::uint64_t v) noexcept {
    for (auto& b : out) {
        b = static_cast<std::byte>(v & 0xff);
        v >>= 8;
    }
}

std::uint64_t get_u64(std::span<std::byte const, 8> in) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = in.size(); i-- > 0;) {
        v = (v << 8) | std::to_integer<std::uint64_t>(in[i]);
    }
    return v;
}

pattern::pattern(std::size_t max_slice) : max_slice_(max_slice), bytes_(max_slice + period) {
    for (std::size_t i = 0; i < bytes_.size(); ++i) {
        bytes_[i] = static_cast<std::byte>(i % period);
    }
}

std::span<std::byte const> pattern::slice(std::uint64_t at, std::size_t n) const noexcept {
    return std::span(bytes_).subspan(static_cast<std::size_t>(at % period),
                                     std::min(n, max_slice_));
}

std::uint64_t pattern::mismatches(std::uint64_t at, std::span<std::byte const> got) const noexcept {
    std::uint64_t bad = 0;
    while (!got.empty()) {
        auto const want = slice(at, got.size());
        if (std::memcmp(want.data(), got.data(), want.size()) != 0) {
            // The rare path: count the bytes.
            for (std::size_t i = 0; i < want.size(); ++i) {
                bad += want[i] != got[i] ? 1 : 0;
            }
        }
        at += want.size();
        got = got.subspan(want.size());
    }
    return bad;
}

asio::ip::udp::endpoint parse_endpoint(std::string const& text) {
    auto const colon = text.rfind(':');
    if (colon == std::string::npos) {
        throw std::invalid_argument("address '" + text + "' has no port");
    }
    std::string host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    asio::error_code ec;
    auto const address = asio::ip::make_address(host, ec);
    std::string const port = text.substr(colon + 1);
    bool const digits =
        !port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (ec || !digits || std::stoul(port) > 65'535) {
        throw std::invalid_argument("bad address '" + text + "' (numeric HOST:PORT)");
    }
    return {address, static_cast<unsigned short>(std::stoul(port))};
}

std::string format_endpoint(asio::ip::udp::endpoint const& ep) {
    auto const address = ep.address().to_string();
    auto const port = std::to_string(ep.port());
    return ep.address().is_v6() ? "[" + address + "]:" + port : address + ":" + port;
}

cpu_times read_cpu_times() noexcept {
    rusage ru{};
    if (::getrusage(RUSAGE_SELF, &ru) != 0) {
        return {};
    }
    auto seconds = [](timeval const& tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    return {.user = seconds(ru.ru_utime), .sys = seconds(ru.ru_stime)};
}

cpu_times operator-(cpu_times const& a, cpu_times const& b) noexcept {
    return {.user = a.user - b.user, .sys = a.sys - b.sys};
}

namespace {

void write_string(std::ostream& os, std::string_view s) {
    os << '"';
    for (char const c : s) {
        auto const u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            os << '\\' << c;
        } else if (u < 0x20) {
            os << "\\u" << std::hex << std::setw(4) << std::setfill('0') << static_cast<int>(u)
               << std::dec << std::setfill(' ');
        } else {
            os << c;
        }
    }
    os << '"';
}

}  // namespace

std::ostream& json_object::key(std::string_view k) {
    if (!first_) {
        body_ << ',';
    }
    first_ = false;
    write_string(body_, k);
    body_ << ':';
    return body_;
}

json_object& json_object::add(std::string_view k, std::string_view value) {
    write_string(key(k), value);
    return *this;
}

json_object& json_object::add(std::string_view k, bool value) {
    key(k) << (value ? "true" : "false");
    return *this;
}

json_object& json_object::add(std::string_view k, std::int64_t value) {
    key(k) << value;
    return *this;
}

json_object& json_object::add(std::string_view k, std::uint64_t value) {
    key(k) << value;
    return *this;
}

json_object& json_object::add(std::string_view k, double value) {
    auto& os = key(k);
    if (std::isfinite(value)) {
        os << std::setprecision(9) << value;
    } else {
        os << "null";  // JSON has no NaN
    }
    return *this;
}

json_object& json_object::add(std::string_view k, json_object const& value) {
    key(k) << value.str();
    return *this;
}

std::string impl_name() {
    return "smux " SMUX_VERSION_STRING;
}

json_object params_json(link_params const& p, smux::kcp::options const& kcp) {
    auto const cfg = smux::kcp::make_engine_config(kcp, 1);
    json_object o;
    o.add("crypt", p.crypt)
        .add("datashard", p.datashard)
        .add("parityshard", p.parityshard)
        .add("mode", p.mode)
        .add("nodelay", static_cast<int>(cfg.nodelay))
        .add("interval", static_cast<std::uint64_t>(cfg.interval))
        .add("resend", static_cast<std::uint64_t>(cfg.resend))
        .add("nc", static_cast<int>(cfg.nc))
        .add("mtu", p.mtu)
        .add("sndwnd", p.sndwnd)
        .add("rcvwnd", p.rcvwnd)
        .add("sockbuf", p.sockbuf)
        .add("acknodelay", p.acknodelay)
        .add("stream", cfg.stream);
    return o;
}

json_object stats_json(smux::kcp::stream_stats const& s) {
    json_object o;
    o.add("datagrams_in", s.packets.datagrams_in)
        .add("datagrams_out", s.packets.datagrams_out)
        .add("segments_in", s.kcp.segments_in)
        .add("segments_out", s.kcp.segments_out)
        .add("retransmits", s.kcp.retransmits)
        .add("fast_retransmits", s.kcp.fast_retransmits)
        .add("early_retransmits", s.kcp.early_retransmits)
        .add("timeout_retransmits", s.kcp.timeout_retransmits)
        .add("repeat_segments", s.kcp.duplicate_segments)
        .add("fec_recovered", s.packets.fec_recovered)
        .add("send_dropped", s.send_dropped)
        .add("srtt_ms", static_cast<std::int64_t>(s.kcp.srtt))
        .add("rto_ms", static_cast<std::uint64_t>(s.kcp.rto));
    return o;
}

}  // namespace kcp_bench
