#include "result.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <smux/version.hpp>

namespace smux_bench {

std::string_view impl_name() noexcept {
    return "cpp-smux-" SMUX_VERSION_STRING;
}

std::string json_quote(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    for (char const c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    static constexpr char hex[] = "0123456789abcdef";
                    out += "\\u00";
                    out += hex[(c >> 4) & 0xf];
                    out += hex[c & 0xf];
                } else {
                    out += c;
                }
        }
    }
    out += '"';
    return out;
}

void json_line::key(std::string_view k) {
    text_ += text_.empty() ? '{' : ',';
    text_ += json_quote(k);
    text_ += ':';
}

void json_line::str(std::string_view k, std::string_view value) {
    key(k);
    text_ += json_quote(value);
}

void json_line::integer(std::string_view k, std::int64_t value) {
    key(k);
    text_ += std::to_string(value);
}

void json_line::number(std::string_view k, double value, int decimals) {
    static constexpr double powers[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    key(k);
    if (!std::isfinite(value)) {
        value = 0;
    }
    if (decimals >= 0 && decimals < static_cast<int>(std::size(powers))) {
        double const p = powers[decimals];
        value = std::round(value * p) / p;
    }
    if (value == 0) {
        value = 0;  // no "-0"
    }
    char buf[400];
    auto const r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed);
    text_.append(buf, r.ptr);
}

void json_line::boolean(std::string_view k, bool value) {
    key(k);
    text_ += value ? "true" : "false";
}

void add_param_fields(json_line& j, client_options const& o) {
    j.str("tool", "smuxbench");
    j.str("impl", impl_name());
    j.str("mode", o.mode_name);
    j.str("transport", o.raw ? "raw" : "smux");
    j.integer("version", o.raw ? 0 : o.version);
    j.integer("streams", o.streams);
    j.integer("conns", o.conns);
    j.integer("size", o.size);
    j.integer("bytes_per_stream", o.bytes);
    j.number("duration_s", o.duration, exact);
}

std::string failure_line(client_options const& o, std::int64_t errors, std::string_view message) {
    json_line j;
    add_param_fields(j, o);
    j.boolean("ok", false);
    j.integer("errors", errors);
    j.str("error", message);
    return j.finish();
}

void add_latency_fields(json_line& j, std::vector<std::int64_t>& samples_ns) {
    std::sort(samples_ns.begin(), samples_ns.end());
    auto us = [](std::int64_t ns) { return static_cast<double>(ns) / 1e3; };
    auto const n = static_cast<std::int64_t>(samples_ns.size());
    double mean = 0;
    if (n > 0) {
        double sum = 0;
        for (auto const ns : samples_ns) {
            sum += us(ns);
        }
        mean = sum / static_cast<double>(n);
    }
    // Nearest rank: rank ceil(p/100 * n), 1-based; p100 is the maximum.
    auto pct = [&](std::int64_t p) {
        if (n == 0) {
            return 0.0;
        }
        std::int64_t const rank = std::max<std::int64_t>((p * n + 99) / 100, 1);
        return us(samples_ns[static_cast<std::size_t>(rank - 1)]);
    };
    j.number("mean_us", mean, latency_decimals);
    j.number("p50_us", pct(50), latency_decimals);
    j.number("p90_us", pct(90), latency_decimals);
    j.number("p99_us", pct(99), latency_decimals);
    j.number("max_us", pct(100), latency_decimals);
}

double rate(double amount, double seconds) noexcept {
    return seconds > 0 ? amount / seconds : 0;
}

}  // namespace smux_bench
