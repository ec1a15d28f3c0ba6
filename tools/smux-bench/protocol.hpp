#ifndef SMUX_TOOLS_BENCH_PROTOCOL_HPP
#define SMUX_TOOLS_BENCH_PROTOCOL_HPP

// The stream sub-protocol of the benchmark (section 4 of the contract): the 9-byte header every
// stream starts with, and the 48-byte STATS record.

#include <array>
#include <cstddef>
#include <cstdint>

namespace smux_bench {

/// The first byte of a stream header.
enum class tag : std::uint8_t {
    sink = 0x01,    ///< the client uploads `count` bytes; the server replies the count
    source = 0x02,  ///< the server sends `count` bytes
    echo = 0x03,    ///< messages of `count` bytes, echoed
    open = 0x04,    ///< `count` payload bytes, echoed once
    idle = 0x05,    ///< the server acks, then waits for the end of the stream
    stats = 0x06,   ///< the server sends its stats record
};

inline constexpr std::size_t header_size = 9;  // tag u8 + count u64 LE
inline constexpr std::size_t stats_size = 48;  // six u64 LE
inline constexpr std::uint64_t max_echo_size = 16'777'216;
inline constexpr std::uint64_t max_open_payload = 65'536;
inline constexpr unsigned char idle_ack = 0x05;

using header_bytes = std::array<unsigned char, header_size>;
using stats_bytes = std::array<unsigned char, stats_size>;

void put_u64le(unsigned char* out, std::uint64_t v) noexcept;
[[nodiscard]] std::uint64_t get_u64le(unsigned char const* in) noexcept;

[[nodiscard]] header_bytes encode_header(tag t, std::uint64_t count) noexcept;

struct header {
    std::uint8_t tag = 0;  ///< raw: an unknown value is possible
    std::uint64_t count = 0;
};

[[nodiscard]] header decode_header(header_bytes const& bytes) noexcept;

/// A known tag other than STATS with its count in range.
[[nodiscard]] bool valid_bench_header(header const& h) noexcept;

/// The server's view of itself (section 4, STATS record).
struct stats_record {
    std::int64_t rss_bytes = 0;
    std::int64_t cpu_user_us = 0;
    std::int64_t cpu_sys_us = 0;
    std::int64_t active_streams = 0;
    std::int64_t total_streams = 0;
    std::int64_t active_conns = 0;

    [[nodiscard]] std::int64_t cpu_us() const noexcept { return cpu_user_us + cpu_sys_us; }
};

[[nodiscard]] stats_bytes encode_stats(stats_record const& r) noexcept;
[[nodiscard]] stats_record decode_stats(stats_bytes const& bytes) noexcept;

}  // namespace smux_bench

#endif
