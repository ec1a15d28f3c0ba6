#include "smux/error.hpp"

#include <string>
#include <string_view>

namespace smux {

namespace {

class smux_error_category final : public std::error_category {
  public:
    [[nodiscard]] char const* name() const noexcept override { return "smux"; }

    [[nodiscard]] std::string message(int value) const override {
        switch (static_cast<error>(value)) {
            case error::invalid_version:
                return "invalid protocol: frame version differs from the session's version";
            case error::unknown_command:
                return "invalid protocol: unknown frame command";
            case error::unexpected_update:
                return "invalid protocol: window update frame in a version 1 session";
            case error::invalid_frame_length:
                return "invalid protocol: frame length not allowed for its command";
            case error::invalid_stream_id:
                return "invalid protocol: stream id not allowed for a peer-opened stream";
            case error::window_overrun:
                return "invalid protocol: peer sent past the stream's window";
            case error::invalid_window_update:
                return "invalid protocol: peer consumed more than was sent";
            case error::keepalive_timeout:
                return "keep-alive timeout: no frame from the peer";
            case error::session_closed:
                return "session closed";
            case error::connection_closed:
                return "connection closed by the peer";
            case error::go_away:
                return "stream ids exhausted (go away): open streams on a new session";
            case error::stream_closed:
                return "stream closed";
            case error::broken_pipe:
                return "broken pipe: the stream's write side is shut down";
            case error::operation_in_progress:
                return "another operation of the same kind is pending on this stream";
            case error::read_timeout:
                return "stream read timeout: no data within the configured stream_read_timeout";
            case error::write_timeout:
                return "stream write timeout: not sent within the configured "
                       "stream_write_timeout";
            case error::not_on_strand:
                return "synchronous stream call outside the session's strand: call it from a "
                       "handler or coroutine running on the stream's get_executor()";
        }
        return "unknown smux error " + std::to_string(value);
    }

    [[nodiscard]] std::error_condition default_error_condition(int value) const noexcept override {
        auto const e = static_cast<error>(value);
        if (e >= error::invalid_version && e <= error::invalid_window_update) {
            return make_error_condition(condition::protocol_violation);
        }
        if (e >= error::keepalive_timeout && e <= error::connection_closed) {
            return make_error_condition(condition::session_terminated);
        }
        if (e == error::read_timeout || e == error::write_timeout) {
            return std::make_error_condition(std::errc::timed_out);  // ec == errc::timed_out
        }
        return {value, *this};
    }
};

class smux_condition_category final : public std::error_category {
  public:
    [[nodiscard]] char const* name() const noexcept override { return "smux.condition"; }

    [[nodiscard]] std::string message(int value) const override {
        switch (static_cast<condition>(value)) {
            case condition::protocol_violation:
                return "the peer violated the smux protocol";
            case condition::session_terminated:
                return "the smux session is terminated";
        }
        return "unknown smux condition " + std::to_string(value);
    }

    /// session_terminated also matches the peer's protocol violations and the connection errors
    /// a session ends with (passed through unchanged): a user's "is the session over?" check
    /// must not miss them.
    [[nodiscard]] bool equivalent(std::error_code const& code, int value) const noexcept override {
        if (code.category() == smux::error_category()) {
            auto const own = code.category().default_error_condition(code.value());
            if (own == std::error_condition(value, *this)) {
                return true;
            }
            // A protocol violation ends the session too: it matches both conditions.
            return static_cast<condition>(value) == condition::session_terminated &&
                   own ==
                       std::error_condition(static_cast<int>(condition::protocol_violation), *this);
        }
        return static_cast<condition>(value) == condition::session_terminated &&
               ends_a_connection(code);
    }

  private:
    static bool ends_a_connection(std::error_code const& code) noexcept {
        // A TLS error (Asio's OpenSSL and stream categories) always ends the connection, as
        // does a broken compressed stream under it (smux::kcp's snappy framing).
        std::string_view const name = code.category().name();
        if (name == "asio.ssl" || name == "asio.ssl.stream" || name == "smux.kcp.snappy") {
            return true;
        }
        // errno values: Asio's own system category maps to no generic condition, so the
        // value is compared directly (errc values are errno values).
        bool const errno_value = code.category() == std::system_category() ||
                                 code.category() == std::generic_category() ||
                                 name == "asio.system";
        if (!errno_value) {
            return false;
        }
        using std::errc;
        for (errc e : {errc::connection_reset, errc::connection_aborted, errc::broken_pipe,
                       errc::not_connected, errc::network_down, errc::network_reset,
                       errc::network_unreachable, errc::host_unreachable, errc::timed_out,
                       errc::connection_refused}) {
            if (code.value() == static_cast<int>(e)) {
                return true;
            }
        }
        return false;
    }
};

}  // namespace

std::error_category const& error_category() noexcept {
    static smux_error_category const category;
    return category;
}

std::error_category const& condition_category() noexcept {
    static smux_condition_category const category;
    return category;
}

}  // namespace smux
