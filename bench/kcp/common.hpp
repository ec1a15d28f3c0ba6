#ifndef SMUX_BENCH_KCP_COMMON_HPP
#define SMUX_BENCH_KCP_COMMON_HPP

// What the client and the server share: the wire format of a run, the payload pattern, CPU
// time and the JSON lines.

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <smux/kcp/asio/stream.hpp>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "options.hpp"

namespace kcp_bench {

/// Completion token of every awaited operation: errors come back as values.
inline constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// ---- wire: the client sends an 8-byte header (the payload size, u64 little-endian), then
// the payload; the server answers with 16 bytes: bytes received, bytes that differed from the
// pattern (u64 little-endian each).
inline constexpr std::size_t header_size = 8;
inline constexpr std::size_t reply_size = 16;

void put_u64(std::span<std::byte, 8> out, std::uint64_t v) noexcept;
[[nodiscard]] std::uint64_t get_u64(std::span<std::byte const, 8> in) noexcept;

/** The payload: byte p of a run is p mod 251. A prime period keeps segment boundaries from
    lining up with it, and any slice is a sub-span of one precomputed buffer, so sending and
    checking cost a memcpy/memcmp rather than a loop per byte. */
class pattern {
  public:
    static constexpr std::size_t period = 251;

    explicit pattern(std::size_t max_slice);
    /// The `n` (at most max_slice) pattern bytes from offset `at`.
    [[nodiscard]] std::span<std::byte const> slice(std::uint64_t at, std::size_t n) const noexcept;
    /// How many bytes of `got`, found at offset `at`, differ from the pattern.
    [[nodiscard]] std::uint64_t mismatches(std::uint64_t at,
                                           std::span<std::byte const> got) const noexcept;

  private:
    std::size_t max_slice_;
    std::vector<std::byte> bytes_;
};

/// "HOST:PORT" or "[V6]:PORT", numeric. @throws std::invalid_argument
[[nodiscard]] asio::ip::udp::endpoint parse_endpoint(std::string const& text);
/// "127.0.0.1:40123" or "[::1]:40123".
[[nodiscard]] std::string format_endpoint(asio::ip::udp::endpoint const& ep);

// ---- CPU time of this process (getrusage), seconds.
struct cpu_times {
    double user = 0;
    double sys = 0;
    [[nodiscard]] double total() const noexcept { return user + sys; }
};
[[nodiscard]] cpu_times read_cpu_times() noexcept;
[[nodiscard]] cpu_times operator-(cpu_times const& a, cpu_times const& b) noexcept;

// ---- JSON lines

/// One JSON object, fields in the order added.
class json_object {
  public:
    json_object& add(std::string_view key, std::string_view value);
    json_object& add(std::string_view key, char const* value) {
        return add(key, std::string_view(value));
    }
    json_object& add(std::string_view key, bool value);
    json_object& add(std::string_view key, std::int64_t value);
    json_object& add(std::string_view key, std::uint64_t value);
    json_object& add(std::string_view key, int value) {
        return add(key, static_cast<std::int64_t>(value));
    }
    json_object& add(std::string_view key, double value);
    json_object& add(std::string_view key, json_object const& value);
    [[nodiscard]] std::string str() const { return "{" + body_.str() + "}"; }

  private:
    std::ostream& key(std::string_view k);
    std::ostringstream body_;
    bool first_ = true;
};

/// "smux <version>": the `impl` field.
[[nodiscard]] std::string impl_name();
/// The effective KCP settings (`params` field), the mode preset's knobs spelled out.
[[nodiscard]] json_object params_json(link_params const& p, smux::kcp::options const& kcp);
/// The conversation's counters (`kcp` field), named as in the Go twin (kcp-go's SNMP).
[[nodiscard]] json_object stats_json(smux::kcp::stream_stats const& s);

}  // namespace kcp_bench

#endif
