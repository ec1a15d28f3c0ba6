#ifndef SMUX_CONFIG_HPP
#define SMUX_CONFIG_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "smux/core/export.hpp"

namespace smux {

/** Settings of one session.

    The protocol fields carry the names and defaults of Go's `smux.Config`
    (`smux.DefaultConfig()`), so a C++ peer configured with the defaults interoperates with a
    Go peer configured with its defaults. Both peers must use the same `version`.

    Sizes are signed 64-bit so that every value a user can type is checked (Go rejects
    non-positive sizes; an unsigned field would silently wrap a negative literal).

    The last group of fields has no Go counterpart: they bound what a peer can make this
    side hold (see `SECURITY.md`).

    A session validates its config when it is created (`validate`) and throws
    `config_error` when it is invalid. `config_builder` validates when it builds.
*/
struct config {
    /// Protocol version: 1 (session-wide flow control only) or 2 (adds per-stream windows).
    int version = 1;

    /// Go `KeepAliveDisabled`: no NOP is sent and a silent peer is never timed out.
    bool keep_alive_disabled = false;

    /// Go `KeepAliveInterval`: a NOP frame is sent this often.
    std::chrono::milliseconds keep_alive_interval{10'000};

    /// Go `KeepAliveTimeout`: the session ends when no frame arrived during this long.
    std::chrono::milliseconds keep_alive_timeout{30'000};

    /// Go `MaxFrameSize`: the largest PSH payload this side sends (1..65535).
    std::int64_t max_frame_size = 32'768;

    /// Go `MaxReceiveBuffer`: received but unread bytes after which this side stops reading
    /// the connection (1..2147483647).
    std::int64_t max_receive_buffer = 4'194'304;

    /// Go `MaxStreamBuffer`: the per-stream window advertised to the peer in protocol
    /// version 2 (1..max_receive_buffer).
    std::int64_t max_stream_buffer = 65'536;

    /// Streams the peer opened that wait for `async_accept_stream`. While the backlog is full
    /// the session stops reading the connection, as Go does (default 1024, Go's constant).
    std::int64_t accept_backlog = 1'024;

    /// Streams alive at once in this session, opened by either side. A SYN from the peer
    /// beyond the limit is refused with a FIN and allocates nothing.
    std::int64_t max_streams = 65'536;

    /** Protocol version 2: let each stream's advertised window grow beyond max_stream_buffer
        (doubling, up to max_receive_buffer / 4) while its reader keeps up, so one fast stream
        is not limited to max_stream_buffer per round trip. The wire stays Go-compatible (the
        window is a field of UPD); memory stays bounded by max_receive_buffer. Off by
        default: then window updates are exactly the Go reference's. */
    bool stream_window_autotune = false;

    /// A stream read waiting longer than this for data fails with `smux::error::read_timeout`
    /// (no data is lost). Zero: no limit (Go's default: no deadline).
    std::chrono::milliseconds stream_read_timeout{0};

    /// A stream write waiting longer than this (for window or for the connection) fails with
    /// `smux::error::write_timeout` and the count already sent. Zero: no limit.
    std::chrono::milliseconds stream_write_timeout{0};
};

/// The reason a config is rejected; the message names the field and the limit.
class SMUX_CORE_EXPORT config_error : public std::invalid_argument {
  public:
    using std::invalid_argument::invalid_argument;
};

/** Checks a config with the rules of Go's `VerifyConfig` (newest release), plus the checks
    Go misses (non-positive intervals, a receive buffer above 2^31-1, the defence limits).

    @return an empty string when the config is valid, otherwise a message that names the
    offending field and its limit.
*/
[[nodiscard]] SMUX_CORE_EXPORT std::string validate(config const& cfg);

/// Throws `config_error` with the message of `validate` when the config is invalid.
SMUX_CORE_EXPORT void validate_or_throw(config const& cfg);

/** Fluent construction of a validated `config`.

    @code
    smux::config cfg = smux::config_builder{}.version(2).max_stream_buffer(1 << 20).build();
    @endcode
*/
class config_builder {
  public:
    config_builder() = default;
    /// Starts from `start` instead of the defaults.
    explicit config_builder(config const& start) : cfg_(start) {}

    /// Sets `config::version`.
    config_builder& version(int v) {
        cfg_.version = v;
        return *this;
    }
    /// Turns keep-alive on or off: sets `config::keep_alive_disabled` to `!enabled` (Go's
    /// `KeepAliveDisabled` is the negation).
    config_builder& keep_alive(bool enabled) {
        cfg_.keep_alive_disabled = !enabled;
        return *this;
    }
    /// Sets `config::keep_alive_interval`.
    config_builder& keep_alive_interval(std::chrono::milliseconds d) {
        cfg_.keep_alive_interval = d;
        return *this;
    }
    /// Sets `config::keep_alive_timeout`.
    config_builder& keep_alive_timeout(std::chrono::milliseconds d) {
        cfg_.keep_alive_timeout = d;
        return *this;
    }
    /// Sets `config::max_frame_size`.
    config_builder& max_frame_size(std::int64_t n) {
        cfg_.max_frame_size = n;
        return *this;
    }
    /// Sets `config::max_receive_buffer`.
    config_builder& max_receive_buffer(std::int64_t n) {
        cfg_.max_receive_buffer = n;
        return *this;
    }
    /// Sets `config::max_stream_buffer`.
    config_builder& max_stream_buffer(std::int64_t n) {
        cfg_.max_stream_buffer = n;
        return *this;
    }
    /// Sets `config::accept_backlog`.
    config_builder& accept_backlog(std::int64_t n) {
        cfg_.accept_backlog = n;
        return *this;
    }
    /// Sets `config::max_streams`.
    config_builder& max_streams(std::int64_t n) {
        cfg_.max_streams = n;
        return *this;
    }

    /// Sets `config::stream_window_autotune`.
    config_builder& stream_window_autotune(bool enabled) {
        cfg_.stream_window_autotune = enabled;
        return *this;
    }
    /// Sets `config::stream_read_timeout`.
    config_builder& stream_read_timeout(std::chrono::milliseconds d) {
        cfg_.stream_read_timeout = d;
        return *this;
    }
    /// Sets `config::stream_write_timeout`.
    config_builder& stream_write_timeout(std::chrono::milliseconds d) {
        cfg_.stream_write_timeout = d;
        return *this;
    }

    /// @throws config_error when the result is invalid.
    [[nodiscard]] config build() const {
        validate_or_throw(cfg_);
        return cfg_;
    }

  private:
    config cfg_;
};

}  // namespace smux

#endif
