#include "protocol.hpp"

#include <limits>

namespace smux_bench {

void put_u64le(unsigned char* out, std::uint64_t v) noexcept {
    for (std::size_t i = 0; i < 8; ++i) {
        out[i] = static_cast<unsigned char>(v >> (8 * i));
    }
}

std::uint64_t get_u64le(unsigned char const* in) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        v |= std::uint64_t{in[i]} << (8 * i);
    }
    return v;
}

header_bytes encode_header(tag t, std::uint64_t count) noexcept {
    header_bytes b{};
    b[0] = static_cast<unsigned char>(t);
    put_u64le(b.data() + 1, count);
    return b;
}

header decode_header(header_bytes const& bytes) noexcept {
    return header{.tag = bytes[0], .count = get_u64le(bytes.data() + 1)};
}

bool valid_bench_header(header const& h) noexcept {
    switch (static_cast<tag>(h.tag)) {
        case tag::sink:
        case tag::source:
            // Go's side keeps byte counts in int64.
            return h.count <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        case tag::echo:
            return h.count >= 1 && h.count <= max_echo_size;
        case tag::open:
            return h.count <= max_open_payload;
        case tag::idle:
            return true;
        case tag::stats:
            break;
    }
    return false;
}

stats_bytes encode_stats(stats_record const& r) noexcept {
    stats_bytes b{};
    std::int64_t const fields[] = {r.rss_bytes,      r.cpu_user_us,   r.cpu_sys_us,
                                   r.active_streams, r.total_streams, r.active_conns};
    for (std::size_t i = 0; i < 6; ++i) {
        put_u64le(b.data() + 8 * i, static_cast<std::uint64_t>(fields[i]));
    }
    return b;
}

stats_record decode_stats(stats_bytes const& b) noexcept {
    auto field = [&](std::size_t i) {
        return static_cast<std::int64_t>(get_u64le(b.data() + 8 * i));
    };
    return stats_record{.rss_bytes = field(0),
                        .cpu_user_us = field(1),
                        .cpu_sys_us = field(2),
                        .active_streams = field(3),
                        .total_streams = field(4),
                        .active_conns = field(5)};
}

}  // namespace smux_bench
