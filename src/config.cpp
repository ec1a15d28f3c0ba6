#include "smux/config.hpp"

#include <limits>

namespace smux {

namespace {

constexpr std::int64_t max_frame_field = 65'535;
constexpr std::int64_t max_int32 = std::numeric_limits<std::int32_t>::max();

std::string in_range(char const* field, std::int64_t value, std::int64_t lo, std::int64_t hi) {
    if (value >= lo && value <= hi) {
        return {};
    }
    return std::string(field) + " must be between " + std::to_string(lo) + " and " +
           std::to_string(hi) + " (got " + std::to_string(value) + ")";
}

}  // namespace

std::string validate(config const& cfg) {
    if (cfg.version != 1 && cfg.version != 2) {
        return "version must be 1 or 2 (got " + std::to_string(cfg.version) + ")";
    }
    if (!cfg.keep_alive_disabled) {
        if (cfg.keep_alive_interval.count() <= 0) {
            return "keep_alive_interval must be positive (got " +
                   std::to_string(cfg.keep_alive_interval.count()) + " ms)";
        }
        if (cfg.keep_alive_timeout < cfg.keep_alive_interval) {
            return "keep_alive_timeout must not be less than keep_alive_interval (" +
                   std::to_string(cfg.keep_alive_timeout.count()) + " ms < " +
                   std::to_string(cfg.keep_alive_interval.count()) + " ms)";
        }
    }
    if (auto m = in_range("max_frame_size", cfg.max_frame_size, 1, max_frame_field); !m.empty()) {
        return m;
    }
    if (auto m = in_range("max_receive_buffer", cfg.max_receive_buffer, 1, max_int32); !m.empty()) {
        return m;
    }
    if (cfg.max_stream_buffer > cfg.max_receive_buffer && cfg.max_stream_buffer > 0) {
        return "max_stream_buffer must not be larger than max_receive_buffer (" +
               std::to_string(cfg.max_stream_buffer) + " > " +
               std::to_string(cfg.max_receive_buffer) + ")";
    }
    if (auto m = in_range("max_stream_buffer", cfg.max_stream_buffer, 1, max_int32); !m.empty()) {
        return m;
    }
    if (auto m = in_range("accept_backlog", cfg.accept_backlog, 1, max_int32); !m.empty()) {
        return m;
    }
    if (auto m = in_range("max_streams", cfg.max_streams, 1, max_int32); !m.empty()) {
        return m;
    }
    if (cfg.stream_read_timeout.count() < 0) {
        return "stream_read_timeout must not be negative (got " +
               std::to_string(cfg.stream_read_timeout.count()) + " ms)";
    }
    if (cfg.stream_write_timeout.count() < 0) {
        return "stream_write_timeout must not be negative (got " +
               std::to_string(cfg.stream_write_timeout.count()) + " ms)";
    }
    return {};
}

void validate_or_throw(config const& cfg) {
    if (auto message = validate(cfg); !message.empty()) {
        throw config_error("smux config: " + message);
    }
}

}  // namespace smux
