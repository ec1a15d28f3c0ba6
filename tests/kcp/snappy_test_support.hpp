// Inputs of the golang/snappy vectors rebuilt in C++, and a decoder driver for the framing tests.

#ifndef SMUX_TESTS_KCP_SNAPPY_TEST_SUPPORT_HPP
#define SMUX_TESTS_KCP_SNAPPY_TEST_SUPPORT_HPP

#include <smux/kcp/snappy_frame_decoder.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "support/wire.hpp"

namespace snappy_test {

using smux_wire::bytes;

/// go/snappy_vectors' generator: x = x·1103515245 + 12345 (mod 2^32), byte = x >> 16.
inline bytes lcg_bytes(std::uint32_t seed, std::size_t n) {
    bytes out(n);
    for (auto& b : out) {
        seed = seed * 1103515245U + 12345U;
        b = static_cast<std::byte>(seed >> 16);
    }
    return out;
}

/// "line 000000: kcptun carries smux frames over KCP\n" and so on, cut to n bytes.
inline bytes text_bytes(std::size_t n) {
    std::string s;
    for (int i = 0; s.size() < n; ++i) {
        char line[64];
        std::snprintf(line, sizeof line, "line %06d: kcptun carries smux frames over KCP\n", i);
        s += line;
    }
    s.resize(n);
    return smux_wire::to_bytes(s);
}

/// One write of a vector's "writes" list ("syn", "psh64a", "text:N", "lcg:SEED:N").
inline bytes make_write(std::string_view spec) {
    if (spec == "syn") {
        return smux_wire::from_hex("0100000001000000");
    }
    if (spec == "psh64a") {
        return smux_wire::to_bytes("\x01\x02\x40" + std::string(1, '\0') + "\x01" +
                                   std::string(3, '\0') + std::string(64, 'a'));
    }
    if (spec.starts_with("text:")) {
        return text_bytes(std::stoul(std::string(spec.substr(5))));
    }
    auto const colon = spec.find(':', 4);  // "lcg:SEED:N"
    return lcg_bytes(static_cast<std::uint32_t>(std::stoul(std::string(spec.substr(4, colon - 4)))),
                     std::stoul(std::string(spec.substr(colon + 1))));
}

inline std::vector<bytes> make_writes(std::string_view list) {
    std::vector<bytes> out;
    while (!list.empty()) {
        auto const end = list.find(';');
        out.push_back(make_write(list.substr(0, end)));
        list = end == std::string_view::npos ? std::string_view{} : list.substr(end + 1);
    }
    return out;
}

inline std::uint64_t fnv1a(std::span<std::byte const> data) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (auto b : data) {
        h = (h ^ std::to_integer<std::uint64_t>(b)) * 0x100000001b3ULL;
    }
    return h;
}

/// "type:length " per chunk, as go/snappy_vectors prints it.
inline std::string chunk_list(std::span<std::byte const> wire) {
    std::string s;
    for (std::size_t p = 0; p + 4 <= wire.size();) {
        auto const n = std::to_integer<std::size_t>(wire[p + 1]) |
                       std::to_integer<std::size_t>(wire[p + 2]) << 8 |
                       std::to_integer<std::size_t>(wire[p + 3]) << 16;
        char item[16];
        std::snprintf(item, sizeof item, "%02x:%zu ", std::to_integer<unsigned>(wire[p]), n);
        s += item;
        p += 4 + n;
    }
    return s;
}

struct decoded {
    bytes data;
    std::error_code ec;
    bool mid_chunk = false;
};

/// Feeds `wire` in pieces of 1..max_piece bytes (random, or whole when max_piece is 0) and reads
/// out with buffers of random size, as an Asio adapter would.
inline decoded decode(std::span<std::byte const> wire, std::size_t max_piece = 0,
                      std::uint32_t seed = 1) {
    smux::kcp::snappy_frame_decoder d;
    std::mt19937 rng(seed);
    decoded out;
    auto drain = [&] {
        std::byte buf[5000];
        for (;;) {
            std::size_t const want = max_piece == 0 ? sizeof buf : 1 + rng() % sizeof buf;
            std::size_t const n = d.read(std::span(buf, want), out.ec);
            out.data.insert(out.data.end(), buf, buf + n);
            if (n == 0) {
                return;
            }
        }
    };
    while (!wire.empty() && !out.ec) {
        std::size_t const piece =
            max_piece == 0 ? wire.size() : std::min(wire.size(), 1 + rng() % max_piece);
        wire = wire.subspan(d.feed(wire.first(piece)));
        drain();
    }
    drain();
    out.mid_chunk = d.mid_chunk();
    return out;
}

}  // namespace snappy_test

#endif
