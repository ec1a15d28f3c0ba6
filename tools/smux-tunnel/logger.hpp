#ifndef SMUX_TOOLS_TUNNEL_LOGGER_HPP
#define SMUX_TOOLS_TUNNEL_LOGGER_HPP

// Leveled log lines, each "YYYY/MM/DD HH:MM:SS LEVEL message" (kcptun's time stamp) on stderr
// or appended to --log.

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace smux_tunnel {

enum class log_level { error, warn, info };

class logger {
  public:
    /// `quiet`: kcptun's --quiet, hiding the stream opened/closed lines.
    explicit logger(bool quiet) : quiet_(quiet) {}
    logger(logger const&) = delete;
    logger& operator=(logger const&) = delete;
    ~logger();

    /// Appends to `path` from now on (kcptun's --log). @throws std::system_error
    void open_file(std::string const& path);

    void write(log_level level, std::string_view message);
    void error(std::string_view message) { write(log_level::error, message); }
    void warn(std::string_view message) { write(log_level::warn, message); }
    void info(std::string_view message) { write(log_level::info, message); }

    /// Whether `stream_event` lines are shown (not under --quiet): the caller need not
    /// build, nor keep, what only they would say.
    [[nodiscard]] bool shows_stream_events() const noexcept { return !quiet_; }

    /// A stream opened or closed: info, unless --quiet.
    void stream_event(std::string_view message) {
        if (!quiet_) {
            write(log_level::info, message);
        }
    }

  private:
    bool quiet_;
    std::mutex mutex_;
    std::FILE* file_ = nullptr;  ///< null: stderr
};

}  // namespace smux_tunnel

#endif
