#ifndef SMUX_TESTS_SUPPORT_WIRE_HPP
#define SMUX_TESTS_SUPPORT_WIRE_HPP

// The one byte type of every test tree and the one builder of raw smux frames (any field value,
// including the malformed ones hostile and protocol tests send): 8-byte little-endian header
// (ver u8, cmd u8, len u16, sid u32), then the payload. Hex and text conversions. No gtest, no
// Asio: engine tests, front-end tests and hostile-peer tests all include it.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <smux/core/session.hpp>

namespace smux_wire {

/// The bytes of every test tree (the engine's byte type; asio::buffer takes it as it is).
using bytes = std::vector<std::byte>;

// ---- conversions

/// "01 02 0a00": hex digit pairs, spaces ignored.
inline bytes from_hex(std::string_view hex) {
    bytes out;
    std::string digits;
    for (char c : hex) {
        if (c != ' ') {
            digits += c;
        }
    }
    for (std::size_t i = 0; i + 1 < digits.size(); i += 2) {
        out.push_back(static_cast<std::byte>(std::stoul(digits.substr(i, 2), nullptr, 16)));
    }
    return out;
}

inline std::string to_hex(std::span<std::byte const> b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::byte x : b) {
        auto const v = std::to_integer<unsigned>(x);
        out += digits[v >> 4U];
        out += digits[v & 0xFU];
    }
    return out;
}

inline bytes to_bytes(std::string_view s) {
    bytes out(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        out[i] = static_cast<std::byte>(s[i]);
    }
    return out;
}

inline std::string to_string(std::span<std::byte const> b) {
    std::string out(b.size(), '\0');
    for (std::size_t i = 0; i < b.size(); ++i) {
        out[i] = static_cast<char>(b[i]);
    }
    return out;
}

// (resize and copy, not insert: GCC 12 reports a false -Warray-bounds in vector's range insert)
inline bytes& operator+=(bytes& a, std::span<std::byte const> b) {
    std::size_t const at = a.size();
    a.resize(at + b.size());
    std::copy(b.begin(), b.end(), a.begin() + static_cast<std::ptrdiff_t>(at));
    return a;
}

inline bytes operator+(bytes a, bytes const& b) {
    a += b;
    return a;
}

inline bytes cat(std::initializer_list<bytes> parts) {
    bytes out;
    for (auto const& p : parts) {
        out += p;
    }
    return out;
}

// ---- protocol constants

/// Protocol version 2: the initial per-stream window, what a writer may send before the first
/// UPD (a constant of the protocol; 262144, Go's initialPeerWindow).
inline constexpr std::size_t v2_initial_window = smux::core::initial_peer_window;

// ---- raw frames

namespace cmd {
inline constexpr std::uint8_t syn = 0;
inline constexpr std::uint8_t fin = 1;
inline constexpr std::uint8_t psh = 2;
inline constexpr std::uint8_t nop = 3;
inline constexpr std::uint8_t upd = 4;
}  // namespace cmd

/// A header with any field values (a version or command the protocol does not know included).
inline bytes header(int version, std::uint8_t command, std::uint16_t length, std::uint32_t sid) {
    return {static_cast<std::byte>(version),
            static_cast<std::byte>(command),
            static_cast<std::byte>(length & 0xFFU),
            static_cast<std::byte>(length >> 8U),
            static_cast<std::byte>(sid & 0xFFU),
            static_cast<std::byte>((sid >> 8U) & 0xFFU),
            static_cast<std::byte>((sid >> 16U) & 0xFFU),
            static_cast<std::byte>(sid >> 24U)};
}

inline bytes le32(std::uint32_t v) {
    return {static_cast<std::byte>(v & 0xFFU), static_cast<std::byte>((v >> 8U) & 0xFFU),
            static_cast<std::byte>((v >> 16U) & 0xFFU), static_cast<std::byte>(v >> 24U)};
}

/// `h` followed by `n` bytes of `fill` (whatever length `h` declares: hostile).
inline bytes with_payload(bytes h, std::size_t n, std::uint8_t fill = 0) {
    h.insert(h.end(), n, static_cast<std::byte>(fill));
    return h;
}

/// A header whose length is the payload's, followed by the payload.
inline bytes frame(int version, std::uint8_t command, std::uint32_t sid,
                   std::span<std::byte const> payload) {
    bytes out = header(version, command, static_cast<std::uint16_t>(payload.size()), sid);
    out += payload;
    return out;
}

inline bytes syn(int version, std::uint32_t sid) {
    return header(version, cmd::syn, 0, sid);
}

inline bytes fin(int version, std::uint32_t sid) {
    return header(version, cmd::fin, 0, sid);
}

inline bytes nop(int version) {
    return header(version, cmd::nop, 0, 0);
}

inline bytes psh(int version, std::uint32_t sid, std::span<std::byte const> payload) {
    return frame(version, cmd::psh, sid, payload);
}

inline bytes psh(int version, std::uint32_t sid, std::string_view payload) {
    return frame(version, cmd::psh, sid, to_bytes(payload));
}

inline bytes upd(int version, std::uint32_t sid, std::uint32_t consumed, std::uint32_t window) {
    return cat({header(version, cmd::upd, 8, sid), le32(consumed), le32(window)});
}

}  // namespace smux_wire

#endif
