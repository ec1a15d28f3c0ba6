#ifndef SMUX_TESTS_HOSTILE_ECHO_PROCESS_HPP
#define SMUX_TESTS_HOSTILE_ECHO_PROCESS_HPP

// The smux-echo server as a child process: its port, its stderr log (read on the test's
// event loop) and its clean exit.

#include <signal.h>
#include <sys/types.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "hostile_watch.hpp"
#include "support/child_process.hpp"

namespace smux_hostile {

// ---- smux-echo as a child process

/** `smux-echo server ...` started as a child_process (support/child_process.hpp): stdout gives
    the port, stderr is read on the test's io_context into `log()`. `stop` ends it with SIGTERM
    and checks that it exits cleanly (status 0, no sanitizer report); the child_process kills
    it (by PID) if it is still running when this object goes away. */
class server_process {
  public:
    explicit server_process(asio::io_context& ioc) : err_(ioc) {}
    server_process(server_process const&) = delete;
    server_process& operator=(server_process const&) = delete;

    ~server_process() {
        smux::error_code ec;
        err_.close(ec);
    }

    ::testing::AssertionResult start(std::string const& exe, std::vector<std::string> const& args,
                                     watchdog const& wd) {
        std::vector<std::string> argv{exe};
        argv.insert(argv.end(), args.begin(), args.end());
        try {
            child_.emplace(std::move(argv), smux_child::child_process::stderr_mode::pipe);
        } catch (std::exception const& e) {
            return ::testing::AssertionFailure() << "starting " << exe << ": " << e.what();
        }
        err_.assign(child_->take_stderr());
        read_stderr();

        // The first stdout line: {"listening":"127.0.0.1:PORT","pid":N}
        auto const wait = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::min<clock::duration>(wd.remaining(), 20s));
        auto const line = child_->read_line(wait);
        if (!line) {
            return ::testing::AssertionFailure()
                   << "watchdog: no listening line from " << exe << " within " << wait.count()
                   << " ms (or it closed its stdout)";
        }
        std::string const addr_key = R"("listening":"127.0.0.1:)";
        std::string const pid_key = R"("pid":)";
        auto const a = line->find(addr_key);
        auto const p = line->find(pid_key);
        if (a == std::string::npos || p == std::string::npos) {
            return ::testing::AssertionFailure() << "unexpected listening line: " << *line;
        }
        port_ = static_cast<std::uint16_t>(std::stoul(line->substr(a + addr_key.size())));
        if (std::stol(line->substr(p + pid_key.size())) != child_->pid()) {
            return ::testing::AssertionFailure() << "pid in the listening line differs: " << *line;
        }
        return ::testing::AssertionSuccess();
    }

    [[nodiscard]] pid_t pid() const noexcept { return child_ ? child_->pid() : -1; }
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

    /// SIGTERM, then waits (event: stderr reaches end of file, then the exit on the pidfd)
    /// and checks a clean exit.
    ::testing::AssertionResult stop(asio::io_context& ioc, watchdog const& wd) {
        if (!child_ || stopped_) {
            return ::testing::AssertionSuccess();
        }
        stopped_ = true;
        child_->signal(SIGTERM);
        auto const limit = std::min<clock::duration>(wd.remaining() + 5s, 30s);
        auto r = run_until(
            ioc, [this] { return log_ended_; }, limit);
        if (!r) {
            child_->kill();
            return r << " (smux-echo did not exit after SIGTERM)";
        }
        auto const status =
            child_->wait(std::chrono::duration_cast<std::chrono::milliseconds>(limit));
        if (!status) {
            child_->kill();
            return ::testing::AssertionFailure()
                   << "smux-echo closed its stderr but did not exit after SIGTERM";
        }
        if (*status != 0) {
            return ::testing::AssertionFailure()
                   << "smux-echo exit status " << *status << " after SIGTERM; stderr:\n"
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

    std::optional<smux_child::child_process> child_;
    asio::posix::stream_descriptor err_;
    std::array<char, 4096> err_buf_{};
    std::string log_;
    bool log_ended_ = false;
    bool stopped_ = false;
    std::uint16_t port_ = 0;
};

}  // namespace smux_hostile

#endif
