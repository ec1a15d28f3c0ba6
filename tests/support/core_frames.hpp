// Helpers for engine tests (raw frames and bytes: support/wire.hpp): an engine's output parsed back
// into frames, and small wrappers around the calls every test makes (feed, drain, read, write).

#ifndef SMUX_TESTS_SUPPORT_CORE_FRAMES_HPP
#define SMUX_TESTS_SUPPORT_CORE_FRAMES_HPP

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <smux/config.hpp>
#include <smux/core/frame.hpp>
#include <smux/core/session.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "support/wire.hpp"

namespace core_test {

using namespace smux_wire;  // bytes, hex and text conversions, raw frames
using smux::core::command;
using smux::core::event;
using smux::core::frame_header;
using smux::core::read_result;
using smux::core::role;
using smux::core::stream_id;
using smux::core::write_result;

/// A fixed origin for the fake clock (any value works: the engine only compares times).
inline smux::core::time_point const t0 = smux::core::time_point{} + std::chrono::hours(1);

// ---- bytes

/// Deterministic filler: byte i of stream `seed` (so a misplaced byte is detected).
inline std::byte pattern_byte(std::uint64_t seed, std::uint64_t i) {
    std::uint64_t x = (seed + 1) * 0x9E3779B97F4A7C15ULL + i * 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 31U;
    x *= 0x94D049BB133111EBULL;
    x ^= x >> 29U;
    return static_cast<std::byte>(x & 0xFFU);
}

inline bytes pattern(std::uint64_t seed, std::size_t n, std::uint64_t start = 0) {
    bytes out(n);
    for (std::size_t i = 0; i < n; ++i) {
        out[i] = pattern_byte(seed, start + i);
    }
    return out;
}

/// FNV-1a over a byte range, continued from `h`.
inline std::uint64_t fnv1a(std::span<std::byte const> b, std::uint64_t h = 0xcbf29ce484222325ULL) {
    for (std::byte x : b) {
        h ^= std::to_integer<std::uint64_t>(x);
        h *= 0x100000001b3ULL;
    }
    return h;
}

// ---- an engine's output parsed back

struct parsed_frame {
    frame_header h;
    bytes payload;

    [[nodiscard]] smux::core::window_update update() const {
        EXPECT_EQ(payload.size(), 8U);
        if (payload.size() != 8) {
            return {};
        }
        return smux::core::decode_update(std::span<std::byte const, 8>(payload.data(), 8));
    }
};

/// Splits wire bytes into frames; a truncated last frame is a test failure.
inline std::vector<parsed_frame> parse_frames(std::span<std::byte const> wire) {
    std::vector<parsed_frame> out;
    std::size_t pos = 0;
    while (pos < wire.size()) {
        if (wire.size() - pos < smux::core::header_size) {
            ADD_FAILURE() << "truncated header at offset " << pos;
            break;
        }
        parsed_frame f;
        f.h = smux::core::decode_header(
            std::span<std::byte const, smux::core::header_size>(wire.data() + pos, 8));
        pos += smux::core::header_size;
        if (wire.size() - pos < f.h.length) {
            ADD_FAILURE() << "truncated payload at offset " << pos;
            break;
        }
        f.payload.assign(wire.begin() + static_cast<std::ptrdiff_t>(pos),
                         wire.begin() + static_cast<std::ptrdiff_t>(pos + f.h.length));
        pos += f.h.length;
        out.push_back(std::move(f));
    }
    return out;
}

inline std::size_t total_size(std::span<std::span<std::byte const> const> segs) {
    std::size_t n = 0;
    for (auto const& s : segs) {
        n += s.size();
    }
    return n;
}

inline bytes flatten(std::span<std::span<std::byte const> const> segs) {
    bytes out;
    for (auto const& s : segs) {
        out.insert(out.end(), s.begin(), s.end());
    }
    return out;
}

/// Everything the engine wants to send now, fully committed.
inline bytes take_output(smux::core::session& s) {
    bytes out;
    for (int guard = 0; guard < 1'000'000; ++guard) {
        auto const segs = s.prepare_send();
        std::size_t const n = total_size(segs);
        if (n == 0) {
            return out;
        }
        bytes const chunk = flatten(segs);
        out.insert(out.end(), chunk.begin(), chunk.end());
        s.commit_send(n);
    }
    ADD_FAILURE() << "prepare_send never ran dry";
    return out;
}

inline std::vector<parsed_frame> take_frames(smux::core::session& s) {
    return parse_frames(take_output(s));
}

inline std::vector<event> take_events(smux::core::session& s) {
    std::vector<event> out;
    while (auto e = s.poll_event()) {
        out.push_back(*e);
    }
    return out;
}

inline std::size_t count_events(std::vector<event> const& evs, event::kind k,
                                std::optional<stream_id> id = std::nullopt) {
    std::size_t n = 0;
    for (auto const& e : evs) {
        if (e.what == k && (!id || e.id == *id)) {
            ++n;
        }
    }
    return n;
}

// ---- feeding and application calls

inline std::size_t feed(smux::core::session& s, std::span<std::byte const> b) {
    return s.receive(b);
}

/// Feeds one byte per `receive` call; stops when a byte is refused.
inline std::size_t feed_bytewise(smux::core::session& s, std::span<std::byte const> b) {
    std::size_t n = 0;
    for (std::byte const& x : b) {
        std::size_t const took = s.receive(std::span<std::byte const>(&x, 1));
        n += took;
        if (took == 0) {
            break;
        }
    }
    return n;
}

/// One read of at most `max` bytes, appended to `out`.
inline read_result read_some(smux::core::session& s, stream_id id, bytes& out,
                             std::size_t max = 1U << 20U) {
    bytes buf(max);
    std::array<std::span<std::byte>, 1> dst{std::span<std::byte>(buf)};
    read_result const r = s.read(id, dst);
    if (r.state == read_result::status::data) {
        out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r.bytes));
    }
    return r;
}

struct read_outcome {
    bytes data;
    read_result last;  ///< the first result that was not `data`
};

/// Reads until the engine reports something other than data.
inline read_outcome read_all(smux::core::session& s, stream_id id, std::size_t chunk = 65'536) {
    read_outcome out;
    for (;;) {
        out.last = read_some(s, id, out.data, chunk);
        if (out.last.state != read_result::status::data) {
            return out;
        }
    }
}

/// A write whose span array lives as long as this object (the engine borrows both).
struct borrowed_write {
    bytes data;
    std::array<std::span<std::byte const>, 1> spans{};

    explicit borrowed_write(bytes d) : data(std::move(d)) { spans[0] = data; }
    borrowed_write(borrowed_write const&) = delete;
    borrowed_write& operator=(borrowed_write const&) = delete;

    write_result submit(smux::core::session& s, stream_id id) { return s.write(id, spans); }
};

inline smux::config make_config(int version) {
    smux::config c;
    c.version = version;
    return c;
}

inline std::optional<stream_id> open(smux::core::session& s) {
    smux::error_code ec;
    auto id = s.open_stream(ec);
    EXPECT_FALSE(ec) << ec.message();
    return id;
}

inline std::optional<stream_id> accept(smux::core::session& s) {
    smux::error_code ec;
    auto id = s.accept_stream(ec);
    EXPECT_FALSE(ec) << ec.message();
    return id;
}

}  // namespace core_test

#endif
