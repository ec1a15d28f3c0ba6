// Shared pieces of the interop tests: the Go peer as a child process, the deterministic
// payload generator (the same sequence as the Go peer's), SHA-256 digests, the scenario
// parameters and the stream helpers both pairings use.

#ifndef SMUX_TESTS_INTEROP_SUPPORT_HPP
#define SMUX_TESTS_INTEROP_SUPPORT_HPP

#include <sys/types.h>

#include <array>
#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <smux/core/session.hpp>
#include <smux/smux.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "support/child_process.hpp"

namespace interop {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

inline constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// ---- scenario parameters (the same for every pairing)

/// Bytes of each bulk transfer: $SMUX_INTEROP_BULK_MIB if set, else the CMake default.
std::int64_t bulk_bytes();

/// Sanitizers and debug builds run slower: every watchdog is multiplied by this.
double slowness();

/// A watchdog scaled by `slowness()`.
milliseconds budget(milliseconds base);

inline constexpr int concurrent_streams = 1000;
inline constexpr int concurrent_payload_max = 16384;
inline constexpr int churn_streams = 10000;
inline constexpr int churn_workers = 16;
inline constexpr std::int64_t roundtrip_bytes = 64 * 1024;
/// Write sizes around the frame limits of the two sub-runs (frame size 32768 and 65535).
inline const std::vector<std::size_t> frame_test_sizes = {1,     32767, 32768, 32769,
                                                          65534, 65535, 65536, 1048576};
inline constexpr std::int64_t halfclose_request_bytes = 100000;
/// Bytes a side writes after it received the peer's FIN. In v2 they must fit the window the
/// peer advertised last (its max_stream_buffer, 65536 by default: the peer's first read of
/// the command line already sent it): a peer that sent FIN never opens the window again (Go
/// forgot the stream), and a Go v1.5.16 writer fails with EOF when it would have to wait.
std::int64_t after_fin_bytes(int version);
/// Bytes written to the stream whose reader is blocked (v1 has no per-stream window: the
/// data must fit the session receive buffer or the whole session stalls, by design).
std::int64_t slow_stream_bytes(int version);
inline constexpr int slow_other_streams = 8;
inline constexpr std::size_t slow_other_bytes = 256 * 1024;
inline constexpr std::int64_t v2_initial_window = smux::core::initial_peer_window;
/// Short keep-alive for the keep-alive scenarios. The timeout leaves room for a loaded
/// machine (sanitizer builds, parallel tests) to stall a process for a few hundred ms.
inline constexpr milliseconds keepalive_interval{100};
inline constexpr milliseconds keepalive_timeout{1000};
/// Longer than two timeouts: only keep-alive (idle) or traffic (active) keeps a session alive.
inline constexpr milliseconds idle_period{2500};
inline constexpr milliseconds active_period{2500};
/// A silent peer is detected one to two timeouts after its last frame.
inline constexpr milliseconds silence_period{4000};

// ---- the Go peer process

/// Path of the smuxpeer binary ($SMUX_INTEROP_GO_PEER, else the one CMake built).
std::string go_peer_path();

/// The Go peer runs as a child_process (support/child_process.hpp).
using smux_child::child_process;

/// Config flags of smuxpeer for a config.
std::vector<std::string> go_config_flags(smux::config const& cfg);

/// A Go server started with `smuxpeer server --listen 127.0.0.1:0`.
struct go_server {
    explicit go_server(smux::config const& cfg, std::vector<std::string> extra = {});
    child_process process;
    asio::ip::tcp::endpoint endpoint;
};

struct go_client_result {
    bool finished = false;  ///< exited before the deadline
    int exit_code = -1;
    std::string line;  ///< the JSON result line
    [[nodiscard]] bool ok() const;
    [[nodiscard]] std::string field(std::string_view key) const;
};

/// Runs `smuxpeer client --connect 127.0.0.1:PORT --scenario NAME ...` to its end.
go_client_result run_go_client(std::uint16_t port, std::string const& scenario,
                               smux::config const& cfg, std::vector<std::string> extra,
                               milliseconds deadline);

/// A string field, or the literal text of another value, of a one-line JSON object.
std::string json_field(std::string_view json, std::string_view key);

// ---- payloads and digests

/// SplitMix64 outputs as little-endian bytes: the sequence of the Go peer's generator.
class generator {
  public:
    explicit generator(std::uint64_t seed) noexcept : state_(seed) {}
    void fill(std::span<std::byte> out) noexcept;
    std::vector<std::byte> bytes(std::size_t n);
    std::uint64_t next() noexcept;

  private:
    std::uint64_t state_;
    std::array<std::byte, 8> buf_{};
    std::size_t have_ = 0;
};

/// Length and SHA-256 of a byte stream (OpenSSL).
class digest {
  public:
    digest();
    ~digest();
    digest(digest const&) = delete;
    digest& operator=(digest const&) = delete;
    void update(std::span<std::byte const> bytes);
    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
    /// Lowercase hex; finalises a copy, so updates may go on.
    [[nodiscard]] std::string hex() const;
    /// "LEN SHA256HEX" (the reply line of sink, slow and halfclose, without '\n').
    [[nodiscard]] std::string line() const;

  private:
    void* ctx_;
    std::uint64_t size_ = 0;
};

/// First differing byte of two equal-length ranges, or nothing.
std::optional<std::size_t> first_difference(std::span<std::byte const> a,
                                            std::span<std::byte const> b);

// ---- stream helpers (throw scenario_error on any failure)

struct scenario_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string describe(smux::error_code const& ec);

/// Reads lines and exact byte counts from a stream, keeping what it read ahead.
class stream_reader {
  public:
    explicit stream_reader(smux::stream& s) : s_(s) {}
    asio::awaitable<std::string> line();
    /// Some bytes (at least one), or an error code (eof at the end).
    asio::awaitable<std::pair<smux::error_code, std::size_t>> some(std::span<std::byte> out);
    asio::awaitable<void> exact(std::span<std::byte> out);
    /// Reads to EOF; returns the bytes counted into `d`.
    asio::awaitable<void> to_eof(digest& d);
    /// Reads to EOF and compares with the first `n` bytes of the sequence of `seed`.
    asio::awaitable<void> expect_generated(std::uint64_t n, std::uint64_t seed);

  private:
    smux::stream& s_;
    std::string ahead_;
};

asio::awaitable<void> write_all(smux::stream& s, std::span<std::byte const> bytes);
asio::awaitable<void> write_text(smux::stream& s, std::string const& text);

/// Opens a stream and sends its command line.
asio::awaitable<smux::stream> open_command(smux::tcp_session& session, std::string const& command);

/// Echo round trip on a fresh "echo" stream: writes while reading back, compares.
asio::awaitable<void> echo_round_trip(smux::tcp_session& session,
                                      std::span<std::byte const> payload);

/// Suspends the coroutine for `d`.
asio::awaitable<void> sleep_for(milliseconds d);

}  // namespace interop

#endif
