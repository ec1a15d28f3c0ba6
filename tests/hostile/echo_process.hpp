#ifndef SMUX_TESTS_HOSTILE_ECHO_PROCESS_HPP
#define SMUX_TESTS_HOSTILE_ECHO_PROCESS_HPP

// The smux-echo example server as a child process: its port, its stderr log (read on the test's
// event loop) and its clean exit.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "hostile_watch.hpp"

extern char** environ;  // NOLINT: POSIX

namespace smux_hostile {

// ---- smux-echo as a child process

/** `smux-echo server ...` started with posix_spawn; stdout gives the port, stderr is read on
    the test's io_context into `log()`. `stop` ends it with SIGTERM and checks that it exits
    cleanly (status 0, no sanitizer report); the destructor kills it if it is still running. */
class server_process {
  public:
    explicit server_process(asio::io_context& ioc) : err_(ioc) {}
    server_process(server_process const&) = delete;
    server_process& operator=(server_process const&) = delete;

    ~server_process() {
        smux::error_code ec;
        err_.close(ec);
        if (out_fd_ >= 0) {
            ::close(out_fd_);
        }
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
    }

    ::testing::AssertionResult start(std::string const& exe, std::vector<std::string> const& args,
                                     watchdog const& wd) {
        int out[2] = {-1, -1};
        int err[2] = {-1, -1};
        if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
            return ::testing::AssertionFailure() << "pipe2: " << std::strerror(errno);
        }
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        posix_spawn_file_actions_adddup2(&actions, err[1], 2);
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t mask;
        sigemptyset(&mask);
        posix_spawnattr_setsigmask(&attr, &mask);
        sigset_t defaults;
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGPIPE);
        sigaddset(&defaults, SIGTERM);
        sigaddset(&defaults, SIGINT);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        std::vector<std::string> argv_storage{exe};
        argv_storage.insert(argv_storage.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : argv_storage) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        int const rc = ::posix_spawn(&pid_, exe.c_str(), &actions, &attr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        ::close(out[1]);
        ::close(err[1]);
        out_fd_ = out[0];
        err_.assign(err[0]);
        if (rc != 0) {
            pid_ = -1;
            return ::testing::AssertionFailure()
                   << "posix_spawn " << exe << ": " << std::strerror(rc);
        }
        read_stderr();

        // The first stdout line: {"listening":"127.0.0.1:PORT","pid":N}
        std::string line;
        auto const deadline = clock::now() + std::min<clock::duration>(wd.remaining(), 20s);
        while (line.find('\n') == std::string::npos) {
            auto const left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
            if (left.count() <= 0) {
                return ::testing::AssertionFailure()
                       << "watchdog: no listening line from " << exe << "; stdout so far: " << line;
            }
            pollfd p{out_fd_, POLLIN, 0};
            int const ready = ::poll(&p, 1, static_cast<int>(left.count()));
            if (ready < 0 && errno != EINTR) {
                return ::testing::AssertionFailure() << "poll: " << std::strerror(errno);
            }
            if (ready > 0) {
                char buf[256];
                ssize_t const n = ::read(out_fd_, buf, sizeof buf);
                if (n <= 0) {
                    return ::testing::AssertionFailure()
                           << exe << " closed its stdout before the listening line: " << line;
                }
                line.append(buf, static_cast<std::size_t>(n));
            }
        }
        line.resize(line.find('\n'));
        std::string const addr_key = R"("listening":"127.0.0.1:)";
        std::string const pid_key = R"("pid":)";
        auto const a = line.find(addr_key);
        auto const p = line.find(pid_key);
        if (a == std::string::npos || p == std::string::npos) {
            return ::testing::AssertionFailure() << "unexpected listening line: " << line;
        }
        port_ = static_cast<std::uint16_t>(std::stoul(line.substr(a + addr_key.size())));
        if (std::stol(line.substr(p + pid_key.size())) != pid_) {
            return ::testing::AssertionFailure() << "pid in the listening line differs: " << line;
        }
        return ::testing::AssertionSuccess();
    }

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    [[nodiscard]] tcp::endpoint endpoint() const {
        return {asio::ip::make_address("127.0.0.1"), port_};
    }
    [[nodiscard]] std::string const& log() const noexcept { return log_; }
    [[nodiscard]] bool log_ended() const noexcept { return log_ended_; }

    /** The message of the line `session from 127.0.0.1:PORT ended: MESSAGE`, once logged. */
    [[nodiscard]] std::optional<std::string> session_end(std::uint16_t peer_port) const {
        std::string const key = "session from 127.0.0.1:" + std::to_string(peer_port) + " ended: ";
        auto const at = log_.find(key);
        if (at == std::string::npos) {
            return std::nullopt;
        }
        auto const from = at + key.size();
        auto const eol = log_.find('\n', from);
        if (eol == std::string::npos) {
            return std::nullopt;
        }
        return log_.substr(from, eol - from);
    }

    /// SIGTERM, then waits (event: stderr reaches end of file) and checks a clean exit.
    ::testing::AssertionResult stop(asio::io_context& ioc, watchdog const& wd) {
        if (pid_ <= 0 || reaped_) {
            return ::testing::AssertionSuccess();
        }
        ::kill(pid_, SIGTERM);
        auto r = run_until(
            ioc, [this] { return log_ended_; },
            std::min<clock::duration>(wd.remaining() + 5s, 30s));
        int status = 0;
        if (!r) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            reaped_ = true;
            return r << " (smux-echo did not exit after SIGTERM)";
        }
        ::waitpid(pid_, &status, 0);
        reaped_ = true;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            return ::testing::AssertionFailure()
                   << "smux-echo exit status " << status << " after SIGTERM; stderr:\n"
                   << log_;
        }
        for (char const* report : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                   "runtime error:", "session failed:"}) {
            if (log_.find(report) != std::string::npos) {
                return ::testing::AssertionFailure()
                       << "smux-echo stderr reports '" << report << "':\n"
                       << log_;
            }
        }
        return ::testing::AssertionSuccess();
    }

  private:
    void read_stderr() {
        err_.async_read_some(asio::buffer(err_buf_), [this](smux::error_code ec, std::size_t n) {
            log_.append(err_buf_.data(), n);
            if (ec) {
                log_ended_ = true;
                return;
            }
            read_stderr();
        });
    }

    asio::posix::stream_descriptor err_;
    std::array<char, 4096> err_buf_{};
    std::string log_;
    bool log_ended_ = false;
    int out_fd_ = -1;
    pid_t pid_ = -1;
    bool reaped_ = false;
    std::uint16_t port_ = 0;
};

}  // namespace smux_hostile

#endif
