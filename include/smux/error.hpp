#ifndef SMUX_ERROR_HPP
#define SMUX_ERROR_HPP

#include <system_error>
#include <type_traits>

#include "smux/core/export.hpp"

namespace smux {

using error_code = std::error_code;

/** Every way a smux session or stream operation can fail, besides errors of the connection
    itself (those are passed through unchanged, e.g. `connection_reset`).

    The end of a stream's data after the peer's FIN is not an error of this enum: it is
    reported as `asio::error::eof`, which `asio::async_read` and `asio::ssl::stream` expect.
*/
enum class error {
    // The peer broke the protocol; the session ends (condition::protocol_violation).
    invalid_version = 1,    ///< a frame's version byte differs from the session's version
    unknown_command,        ///< a frame's command byte is not SYN, FIN, PSH, NOP or UPD
    unexpected_update,      ///< an UPD frame arrived in a protocol version 1 session
    invalid_frame_length,   ///< SYN, FIN or NOP with a payload, or UPD whose length is not 8
    invalid_stream_id,      ///< a SYN with id 0 or with an id of this side's parity
    window_overrun,         ///< v2: the peer sent more on a stream than the window allowed
    invalid_window_update,  ///< v2: the peer acknowledged more bytes than were sent to it

    // The session ended for another reason (condition::session_terminated).
    keepalive_timeout,  ///< no frame arrived within keep_alive_timeout
    session_closed,     ///< the session was closed locally
    connection_closed,  ///< the peer closed the connection (transport end of file)

    // An operation failed; the session goes on.
    go_away,                ///< stream ids are exhausted; open streams on a new session
    stream_closed,          ///< the stream was closed locally
    broken_pipe,            ///< write after shutdown_send (the write side is finished)
    operation_in_progress,  ///< a second read (or write) while one is pending on a stream
    read_timeout,           ///< a read waited longer than config stream_read_timeout
    write_timeout,          ///< a write waited longer than config stream_write_timeout
    not_on_strand,  ///< a synchronous stream call ran outside the session's strand (its executor)
};

/** Groups of errors, to test with `ec == smux::condition::...`.

    `protocol_violation` matches the peer's protocol errors (`invalid_version` to
    `invalid_window_update`), which end the session. `session_terminated` matches every error
    a session ends with: those protocol errors, the other smux errors that end a session
    (`keepalive_timeout`, `session_closed`, `connection_closed`) and the connection errors,
    which are passed through unchanged (`connection_reset`, `connection_aborted`,
    `broken_pipe`, `not_connected`, network down, reset or unreachable, host unreachable,
    `timed_out` from the operating system, `connection_refused`, and every TLS error);
    `session.terminal_error()` tells the exact reason. `read_timeout` and `write_timeout`
    match `std::errc::timed_out`. */
enum class condition {
    protocol_violation = 1,  ///< the peer sent something the protocol forbids
    session_terminated,      ///< the session is over; open a new one
};

[[nodiscard]] SMUX_CORE_EXPORT std::error_category const& error_category() noexcept;
[[nodiscard]] SMUX_CORE_EXPORT std::error_category const& condition_category() noexcept;

[[nodiscard]] inline std::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

[[nodiscard]] inline std::error_condition make_error_condition(condition c) noexcept {
    return {static_cast<int>(c), condition_category()};
}

}  // namespace smux

template <>
struct std::is_error_code_enum<smux::error> : std::true_type {};

template <>
struct std::is_error_condition_enum<smux::condition> : std::true_type {};

#endif
