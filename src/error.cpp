#include "smux/error.hpp"

#include <string>

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
