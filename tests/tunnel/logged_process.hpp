#ifndef SMUX_TESTS_TUNNEL_LOGGED_PROCESS_HPP
#define SMUX_TESTS_TUNNEL_LOGGED_PROCESS_HPP

// A child process (smux-tunnel, kcptun-client, kcptun-server) whose stderr, where all three
// log, is drained by a thread of its own (so a chatty child never blocks on a full pipe) and
// can be waited on line by line: the tests wait for log lines, not for time to pass.

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.hpp"

namespace tunnel_test {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

class logged_process {
  public:
    explicit logged_process(std::vector<std::string> argv)
        : name_(argv.empty() ? "" : argv[0]),
          child_(std::move(argv), smux_child::child_process::stderr_mode::pipe),
          err_fd_(child_.take_stderr()),
          drain_([this] { drain(); }) {}

    ~logged_process() {
        child_.kill();  // the pipe's write end goes away with the child: drain() sees EOF
        drain_.join();
        ::close(err_fd_);
    }
    logged_process(logged_process const&) = delete;
    logged_process& operator=(logged_process const&) = delete;

    /// The first log line containing `needle` (searched from offset `from` of the log: 0 is
    /// its start, `log_size()` what comes next), or nothing when the child printed none
    /// within `timeout` or ended first.
    std::optional<std::string> wait_for(std::string const& needle, milliseconds timeout,
                                        std::size_t from = 0) {
        std::unique_lock lock(mutex_);
        std::optional<std::string> line;
        changed_.wait_for(lock, timeout, [&] {
            line = find_line(needle, from);
            return line.has_value() || ended_;
        });
        return line ? line : find_line(needle, from);
    }

    /// Bytes logged so far.
    std::size_t log_size() {
        std::lock_guard lock(mutex_);
        return text_.size();
    }

    /// The text after "listening on: " in the first such line (host:port), or empty.
    std::string listening_address(milliseconds timeout = 20s) {
        auto const line = wait_for("listening on: ", timeout);
        if (!line) {
            return {};
        }
        auto address = line->substr(line->find("listening on: ") + 14);
        while (!address.empty() && (address.back() == '\r' || address.back() == ' ')) {
            address.pop_back();
        }
        return address;
    }

    /// Everything logged so far (for failure messages).
    std::string log() {
        std::lock_guard lock(mutex_);
        return name_ + " logged:\n" + text_;
    }

    /// Sends `sig` and waits for the exit status (or nothing on timeout).
    std::optional<int> stop(int sig, milliseconds timeout) {
        child_.signal(sig);
        return child_.wait(timeout);
    }

    std::optional<int> wait_exit(milliseconds timeout) { return child_.wait(timeout); }

    [[nodiscard]] pid_t pid() const noexcept { return child_.pid(); }

  private:
    std::optional<std::string> find_line(std::string const& needle, std::size_t from) const {
        auto const at = text_.find(needle, from);
        if (at == std::string::npos) {
            return std::nullopt;
        }
        auto const begin = text_.rfind('\n', at);
        auto const start = begin == std::string::npos ? 0 : begin + 1;
        auto const end = text_.find('\n', at);
        if (end == std::string::npos) {
            return std::nullopt;  // not a whole line yet
        }
        return text_.substr(start, end - start);
    }

    void drain() {
        char buf[4096];
        for (;;) {
            ssize_t const n = ::read(err_fd_, buf, sizeof buf);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            std::lock_guard lock(mutex_);
            if (n <= 0) {
                ended_ = true;
                changed_.notify_all();
                return;
            }
            text_.append(buf, static_cast<std::size_t>(n));
            changed_.notify_all();
        }
    }

    std::string name_;
    smux_child::child_process child_;
    int err_fd_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::string text_;
    bool ended_ = false;
    std::thread drain_;  ///< last: it starts once everything it reads is built
};

}  // namespace tunnel_test

#endif
