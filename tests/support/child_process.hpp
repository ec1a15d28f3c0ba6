#ifndef SMUX_TESTS_SUPPORT_CHILD_PROCESS_HPP
#define SMUX_TESTS_SUPPORT_CHILD_PROCESS_HPP

// The one child-process helper of the test trees (the Go peer of the interop tests, smux-echo
// of the hostile tests): fork and exec with stdout (and optionally stderr) on a pipe, its
// stdout read by line or to the end, its exit waited for on a pidfd (an event, no polling), and
// signals sent by its PID only. POSIX and the standard library only.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace smux_child {

using std::chrono::milliseconds;

/** A child process with its stdout on a pipe; stderr is inherited, or on a second pipe when
    asked for (`stderr_pipe`, then taken with `take_stderr`). The child gets default signal
    dispositions and an empty signal mask, inherits no descriptor beyond 0-2, and dies with
    this process (PR_SET_PDEATHSIG). The destructor kills it (SIGKILL, by PID) and reaps it if
    it is still running, so a failing test leaves nothing behind. */
class child_process {
  public:
    enum class stderr_mode { inherit, pipe };

    /// Starts argv[0] with `argv`; throws std::runtime_error when it cannot.
    explicit child_process(std::vector<std::string> argv, stderr_mode err = stderr_mode::inherit) {
        int out[2] = {-1, -1};
        int errp[2] = {-1, -1};
        if (::pipe2(out, O_CLOEXEC) != 0 ||
            (err == stderr_mode::pipe && ::pipe2(errp, O_CLOEXEC) != 0)) {
            int const e = errno;
            close_all({out[0], out[1]});
            throw std::runtime_error(std::string("pipe2: ") + std::strerror(e));
        }
        std::vector<char*> args;
        args.reserve(argv.size() + 1);
        for (auto& a : argv) {
            args.push_back(a.data());
        }
        args.push_back(nullptr);
        pid_t const parent = ::getpid();
        pid_t const pid = ::fork();
        if (pid < 0) {
            int const e = errno;
            close_all({out[0], out[1], errp[0], errp[1]});
            throw std::runtime_error(std::string("fork: ") + std::strerror(e));
        }
        if (pid == 0) {
            exec_child(args, out[1], errp[1], parent);  // does not return
        }
        close_all({out[1], errp[1]});
        pid_ = pid;
        out_fd_ = out[0];
        err_fd_ = errp[0];
    }

    ~child_process() {
        kill();
        close_all({out_fd_, err_fd_});
    }
    child_process(child_process const&) = delete;
    child_process& operator=(child_process const&) = delete;

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }

    /// The read end of the stderr pipe (stderr_mode::pipe), now owned by the caller; -1 after
    /// the first call or without one.
    int take_stderr() noexcept { return std::exchange(err_fd_, -1); }

    /// The next stdout line (without its newline), or nothing on timeout or end of file.
    std::optional<std::string> read_line(milliseconds timeout) {
        auto const deadline = clock::now() + timeout;
        for (;;) {
            if (auto nl = pending_.find('\n'); nl != std::string::npos) {
                std::string line = pending_.substr(0, nl);
                pending_.erase(0, nl + 1);
                return line;
            }
            if (out_fd_ < 0) {
                if (!pending_.empty()) {
                    return std::exchange(pending_, {});
                }
                return std::nullopt;
            }
            if (!read_some(deadline)) {
                return std::nullopt;
            }
        }
    }

    /// Everything up to the end of stdout, or nothing on timeout.
    std::optional<std::string> read_to_end(milliseconds timeout) {
        auto const deadline = clock::now() + timeout;
        while (out_fd_ >= 0) {
            if (!read_some(deadline)) {
                return std::nullopt;
            }
        }
        return std::exchange(pending_, {});
    }

    /// The exit status (or 128 + signal), or nothing on timeout. The exit is an event: the
    /// child's pidfd becomes readable.
    std::optional<int> wait(milliseconds timeout) {
        auto const deadline = clock::now() + timeout;
        while (!reaped_) {
            int status = 0;
            pid_t const r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {
                reaped(status);
                break;
            }
            if (r < 0 && errno != EINTR) {
                return std::nullopt;
            }
            auto const left = std::chrono::ceil<milliseconds>(deadline - clock::now());
            if (left.count() <= 0) {
                return std::nullopt;
            }
            int const pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
            if (pidfd < 0) {
                return std::nullopt;
            }
            pollfd p{.fd = pidfd, .events = POLLIN, .revents = 0};
            (void)::poll(&p, 1, static_cast<int>(left.count()));
            ::close(pidfd);
        }
        return status_;
    }

    /// Sends `sig` to the child, by its PID, while it has not been reaped.
    void signal(int sig) noexcept {
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, sig);
        }
    }

    /// SIGKILL and reap (no-op once reaped).
    void kill() noexcept {
        if (pid_ <= 0 || reaped_) {
            return;
        }
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        reaped(status);
    }

  private:
    using clock = std::chrono::steady_clock;

    static void close_all(std::initializer_list<int> fds) noexcept {
        for (int fd : fds) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
    }

    /// In the child: only async-signal-safe calls.
    [[noreturn]] static void exec_child(std::vector<char*> const& args, int out, int err,
                                        pid_t parent) noexcept {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(126);
        }
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int sig : {SIGPIPE, SIGTERM, SIGINT}) {
            ::signal(sig, SIG_DFL);
        }
        ::dup2(out, STDOUT_FILENO);
        if (err >= 0) {
            ::dup2(err, STDERR_FILENO);
        }
        // Inherit no socket of this process (Asio does not set close-on-exec): a copy in the
        // child would keep the test's TCP connections open after the test closed them.
#ifdef SYS_close_range
        if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
        {
            for (int fd = 3; fd < 4096; ++fd) {
                ::close(fd);
            }
        }
        ::execv(args[0], args.data());
        char const msg[] = "child_process: exec failed\n";
        (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
        ::_exit(127);
    }

    /// One read from stdout, waiting until `deadline`; false on timeout or a poll error.
    bool read_some(clock::time_point deadline) {
        for (;;) {
            auto const left = std::chrono::duration_cast<milliseconds>(deadline - clock::now());
            if (left.count() <= 0) {
                return false;
            }
            pollfd p{out_fd_, POLLIN, 0};
            int const r = ::poll(&p, 1, static_cast<int>(left.count()));
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r <= 0) {
                return false;
            }
            char buf[4096];
            ssize_t const n = ::read(out_fd_, buf, sizeof buf);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                ::close(out_fd_);
                out_fd_ = -1;
                return true;
            }
            pending_.append(buf, static_cast<std::size_t>(n));
            return true;
        }
    }

    void reaped(int status) noexcept {
        reaped_ = true;
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

    pid_t pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    std::string pending_;
    bool reaped_ = false;
    int status_ = -1;
};

}  // namespace smux_child

#endif
