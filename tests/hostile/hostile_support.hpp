#ifndef SMUX_TESTS_HOSTILE_HOSTILE_SUPPORT_HPP
#define SMUX_TESTS_HOSTILE_HOSTILE_SUPPORT_HPP

// Shared pieces of the hostile-peer tests: frame builders, a raw TCP attacker that parses and
// checks what the server sends back, the smux-echo server as a child process (its stderr log
// and resident memory), an in-process echo server built on smux::tcp_session (its exact errors
// and counters), a well-behaved smux client, and the memory bounds of SECURITY.md.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "smux-echo/echo_server.hpp"
#include "support/asio_harness.hpp"

extern char** environ;  // NOLINT: POSIX

namespace smux_hostile {

using namespace smux_test;
using tcp = asio::ip::tcp;

#ifdef SMUX_HOSTILE_SANITIZED
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif

#ifdef NDEBUG
inline constexpr bool optimized = true;
#else
inline constexpr bool optimized = false;
#endif
/// Sanitizers and unoptimized builds run several times slower: every watchdog scales with this.
inline constexpr bool slow_build = sanitized || !optimized;

/// A test fails (instead of hanging) when it has not finished after this long.
inline constexpr clock::duration test_limit = slow_build ? 150s : 40s;

/** The keep-alive of tests that need a silent peer timed out: short, yet a live peer (the
    well-behaved client sends a NOP every 50 ms) survives a stall of the test machine of most
    of a timeout. The exact timing of the rule (one to two timeouts after the last frame) is
    tested with a fake clock in tests/core; these tests assert only its lower bound. */
inline constexpr std::chrono::milliseconds short_keepalive_interval{100};
inline constexpr std::chrono::milliseconds short_keepalive_timeout{slow_build ? 2000 : 1000};

inline constexpr std::int64_t KiB = 1024;
inline constexpr std::int64_t MiB = 1024 * KiB;

/// The deadline of one test; every wait takes what is left of it.
class watchdog {
  public:
    explicit watchdog(clock::duration limit = test_limit) : deadline_(clock::now() + limit) {}
    [[nodiscard]] clock::duration remaining() const {
        auto const left = deadline_ - clock::now();
        return left > clock::duration::zero() ? left : clock::duration::zero();
    }

  private:
    clock::time_point deadline_;
};

/// A wait fails as stalled when its progress measure has not changed for this long (the
/// keep-alive interval of a default config is 10 s: a stall must show before a NOP hides it).
inline constexpr clock::duration stall_limit = slow_build ? 20s : 5s;

/** Runs `ioc` until `done()` holds, like run_until, but fails early when `progress()` (any
    comparable measure, e.g. bytes or frames moved) stays unchanged for `stall`. */
template <class Pred, class Progress>
::testing::AssertionResult run_with_progress(asio::io_context& ioc, Pred&& done,
                                             Progress&& progress, clock::duration stall,
                                             clock::duration limit) {
    auto last = progress();
    auto changed = clock::now();
    bool stalled = false;
    // A tick every 100 ms re-evaluates the measure even when the loop has nothing else to do.
    auto tick = std::make_shared<asio::steady_timer>(ioc);
    auto stop = std::make_shared<bool>(false);
    std::function<void()> arm = [tick, stop, &arm] {
        tick->expires_after(100ms);
        tick->async_wait([tick, stop, &arm](smux::error_code ec) {
            if (!ec && !*stop) {
                arm();
            }
        });
    };
    arm();
    struct disarm {
        std::shared_ptr<asio::steady_timer> t;
        std::shared_ptr<bool> s;
        ~disarm() {
            *s = true;
            t->cancel();
        }
    } const guard{tick, stop};
    auto r = run_until(
        ioc,
        [&] {
            if (done()) {
                return true;
            }
            auto const now = clock::now();
            if (auto p = progress(); p != last) {
                last = p;
                changed = now;
            }
            stalled = now - changed >= stall;
            return stalled;
        },
        limit);
    if (r && stalled) {
        return ::testing::AssertionFailure()
               << "stalled: no progress for "
               << std::chrono::duration_cast<std::chrono::milliseconds>(stall).count() << " ms";
    }
    return r;
}

inline std::int64_t ms_since(clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t).count();
}

// ---- frames (the builders: support/wire.hpp)

/// `total` bytes of `pattern(seed)` on stream `sid`, cut into PSH frames of `frame_size`.
inline bytes psh_stream(int version, std::uint32_t sid, std::size_t total, std::size_t frame_size,
                        std::uint64_t seed, std::size_t position = 0) {
    bytes out;
    pattern const p(seed);
    for (std::size_t done = 0; done < total;) {
        std::size_t const n = std::min(frame_size, total - done);
        auto const f = psh(version, sid, p.make(position + done, n));
        out.insert(out.end(), f.begin(), f.end());
        done += n;
    }
    return out;
}

// ---- what the attacker receives, parsed and checked

/** The frames a raw peer received, parsed incrementally and checked against the wire contract:
    a server must send only well-formed frames of its session's version, PSH no longer than its
    own max_frame_size. The first violation is recorded in `malformed` and parsing stops. */
struct inbound {
    static std::size_t le16(std::byte const* p) {
        return std::to_integer<std::size_t>(p[0]) | (std::to_integer<std::size_t>(p[1]) << 8U);
    }
    static std::uint32_t le32_at(std::byte const* p) {
        return std::to_integer<std::uint32_t>(p[0]) | (std::to_integer<std::uint32_t>(p[1]) << 8U) |
               (std::to_integer<std::uint32_t>(p[2]) << 16U) |
               (std::to_integer<std::uint32_t>(p[3]) << 24U);
    }

    int version = 1;
    std::size_t max_frame = 65'535;

    bytes pending;
    std::map<std::uint32_t, bytes> data;  ///< PSH payload per stream
    std::map<std::uint32_t, int> fins;    ///< FIN count per stream
    std::vector<std::uint32_t> fin_order;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> updates;  ///< (sid, consumed)
    std::vector<std::uint32_t> syns;
    std::size_t nops = 0;
    std::size_t frames = 0;
    std::size_t largest_psh = 0;
    std::string malformed;

    void feed(std::byte const* p, std::size_t n) {
        if (!malformed.empty()) {
            return;
        }
        pending.insert(pending.end(), p, p + n);
        std::size_t at = 0;
        while (malformed.empty() && pending.size() - at >= 8) {
            std::byte const* h = pending.data() + at;
            int const ver = std::to_integer<int>(h[0]);
            auto const c = std::to_integer<std::uint8_t>(h[1]);
            std::size_t const len = le16(h + 2);
            std::uint32_t const sid = le32_at(h + 4);
            std::ostringstream why;
            if (ver != version) {
                why << "frame version " << ver << " in a version " << version << " session";
            } else if (c > cmd::upd || (c == cmd::upd && version < 2)) {
                why << "command " << static_cast<int>(c);
            } else if ((c == cmd::syn || c == cmd::fin || c == cmd::nop) && len != 0) {
                why << "command " << static_cast<int>(c) << " with length " << len;
            } else if (c == cmd::upd && len != 8) {
                why << "UPD with length " << len;
            } else if (c == cmd::psh && len > max_frame) {
                why << "PSH of " << len << " bytes, above the server's max_frame_size "
                    << max_frame;
            }
            if (!why.str().empty()) {
                malformed = why.str() + " (frame " + std::to_string(frames) + ")";
                break;
            }
            if (pending.size() - at < 8 + len) {
                break;
            }
            std::byte const* payload = h + 8;
            switch (c) {
                case cmd::syn:
                    syns.push_back(sid);
                    break;
                case cmd::fin:
                    ++fins[sid];
                    fin_order.push_back(sid);
                    break;
                case cmd::psh: {
                    auto& d = data[sid];
                    d.insert(d.end(), payload, payload + len);
                    largest_psh = std::max(largest_psh, len);
                    break;
                }
                case cmd::nop:
                    ++nops;
                    break;
                default:
                    updates.emplace_back(sid, le32_at(payload));
                    break;
            }
            ++frames;
            at += 8 + len;
        }
        pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(at));
    }

    [[nodiscard]] std::string data_of(std::uint32_t sid) const {
        auto it = data.find(sid);
        return it == data.end() ? std::string() : to_string(it->second);
    }
    [[nodiscard]] std::size_t size_of(std::uint32_t sid) const {
        auto it = data.find(sid);
        return it == data.end() ? 0 : it->second.size();
    }
    [[nodiscard]] int fin_count(std::uint32_t sid) const {
        auto it = fins.find(sid);
        return it == fins.end() ? 0 : it->second;
    }
};

// ---- the attacker: raw bytes over a plain TCP socket

/** A raw TCP peer on the test's io_context. Writes are queued and chained; reading is optional
    (a peer that never reads never calls `start_reading`). Handlers keep the state alive, so the
    object may go away while operations are pending. */
class raw_peer {
    struct state {
        explicit state(asio::io_context& ioc) : socket(ioc) {}
        tcp::socket socket;
        std::deque<bytes> queue;
        std::size_t front_offset = 0;  ///< bytes of queue.front() already written
        bool writing = false;
        std::uint64_t sent = 0;
        smux::error_code write_error;
        bool reading = false;
        bool read_ended = false;
        smux::error_code read_error;
        std::uint64_t received = 0;
        std::array<std::byte, 64 * 1024> buffer{};
        inbound in;
    };

  public:
    raw_peer(asio::io_context& ioc, int version, std::size_t server_max_frame)
        : s_(std::make_shared<state>(ioc)) {
        s_->in.version = version;
        s_->in.max_frame = server_max_frame;
    }
    raw_peer(raw_peer const&) = delete;
    raw_peer& operator=(raw_peer const&) = delete;
    ~raw_peer() { close(); }

    /// Connects from 127.0.0.1; `receive_buffer` > 0 sets SO_RCVBUF first (a small window).
    ::testing::AssertionResult connect(tcp::endpoint const& ep, int receive_buffer = 0) {
        smux::error_code ec;
        s_->socket.open(tcp::v4(), ec);
        if (!ec && receive_buffer > 0) {
            s_->socket.set_option(asio::socket_base::receive_buffer_size(receive_buffer), ec);
        }
        if (!ec) {
            s_->socket.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), ec);
        }
        if (!ec) {
            s_->socket.connect(ep, ec);
        }
        if (!ec) {
            s_->socket.set_option(tcp::no_delay(true), ec);
        }
        if (ec) {
            return ::testing::AssertionFailure() << "attacker connect: " << ec.message();
        }
        port_ = s_->socket.local_endpoint().port();
        return ::testing::AssertionSuccess();
    }

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

    void send(bytes b) {
        if (b.empty() || s_->write_error) {
            return;
        }
        s_->queue.push_back(std::move(b));
        pump(s_);
    }

    /// Every queued byte was handed to the kernel (or a write failed).
    [[nodiscard]] bool idle() const noexcept { return !s_->writing && s_->queue.empty(); }
    [[nodiscard]] std::uint64_t sent() const noexcept { return s_->sent; }
    [[nodiscard]] smux::error_code write_error() const noexcept { return s_->write_error; }

    void start_reading() {
        if (!s_->reading) {
            s_->reading = true;
            read(s_);
        }
    }
    /// Stops reading (the pending read is cancelled): from now on the kernel buffers
    /// whatever the server sends.
    void stop_reading() {
        s_->reading = false;
        smux::error_code ec;
        s_->socket.cancel(ec);
    }
    /// The server closed the connection (end of file, or a reset).
    [[nodiscard]] bool read_ended() const noexcept { return s_->read_ended; }
    [[nodiscard]] smux::error_code read_error() const noexcept { return s_->read_error; }
    [[nodiscard]] std::uint64_t received() const noexcept { return s_->received; }
    [[nodiscard]] inbound const& in() const noexcept { return s_->in; }

    /// Half-close: the server reads end of file; reading goes on.
    void shutdown_send() {
        smux::error_code ec;
        s_->socket.shutdown(tcp::socket::shutdown_send, ec);
    }

    void close() {
        smux::error_code ec;
        s_->socket.close(ec);
    }

  private:
    // write_some, so that `sent` counts what the kernel took so far.
    static void pump(std::shared_ptr<state> const& s) {
        if (s->writing || s->queue.empty()) {
            return;
        }
        s->writing = true;
        bytes const& front = s->queue.front();
        s->socket.async_write_some(
            asio::buffer(front.data() + s->front_offset, front.size() - s->front_offset),
            [s](smux::error_code ec, std::size_t n) {
                s->writing = false;
                s->sent += n;
                s->front_offset += n;
                if (ec) {
                    s->write_error = ec;
                    s->queue.clear();
                    s->front_offset = 0;
                    return;
                }
                if (s->front_offset == s->queue.front().size()) {
                    s->queue.pop_front();
                    s->front_offset = 0;
                }
                pump(s);
            });
    }

    static void read(std::shared_ptr<state> const& s) {
        s->socket.async_read_some(asio::buffer(s->buffer), [s](smux::error_code ec, std::size_t n) {
            s->received += n;
            s->in.feed(s->buffer.data(), n);
            if (ec == asio::error::operation_aborted && !s->reading) {
                return;  // stop_reading
            }
            if (ec) {
                s->read_ended = true;
                s->read_error = ec;
                return;
            }
            read(s);
        });
    }

    std::shared_ptr<state> s_;
    std::uint16_t port_ = 0;
};

// ---- server settings

struct server_options {
    int version = 1;
    std::optional<std::pair<int, int>> keepalive_ms;  ///< interval, timeout; none: 10 s / 30 s
    std::int64_t max_frame_size = 32'768;
    std::int64_t max_receive_buffer = 4 * MiB;
    std::int64_t max_stream_buffer = 65'536;
    /// In-process server only: smux-echo has no flag for it and uses the default, 65536.
    std::int64_t max_streams = 65'536;

    [[nodiscard]] smux::config to_config() const {
        smux::config cfg;
        cfg.version = version;
        if (keepalive_ms) {
            cfg.keep_alive_interval = std::chrono::milliseconds(keepalive_ms->first);
            cfg.keep_alive_timeout = std::chrono::milliseconds(keepalive_ms->second);
        }
        cfg.max_frame_size = max_frame_size;
        cfg.max_receive_buffer = max_receive_buffer;
        cfg.max_stream_buffer = max_stream_buffer;
        cfg.max_streams = max_streams;
        return cfg;
    }

    [[nodiscard]] std::vector<std::string> to_args() const {
        std::vector<std::string> a{"server", "--listen", "127.0.0.1:0", "--version",
                                   std::to_string(version)};
        if (keepalive_ms) {
            a.insert(a.end(), {"--keepalive-interval", std::to_string(keepalive_ms->first),
                               "--keepalive-timeout", std::to_string(keepalive_ms->second)});
        }
        a.insert(a.end(), {"--max-frame-size", std::to_string(max_frame_size),
                           "--max-receive-buffer", std::to_string(max_receive_buffer),
                           "--max-stream-buffer", std::to_string(max_stream_buffer)});
        return a;
    }
};

// ---- memory bounds

/// SECURITY.md, "Bounded memory": per stream, "about 700 bytes of state while idle".
inline constexpr std::int64_t library_stream_bytes = 700;

/** What one session may hold on behalf of its peer, SECURITY.md "Bounded memory":
        max_receive_buffer + max(2 x max_receive_buffer, 256 KiB) + streams x 700 B + 256 KiB
    with `streams` the streams the peer can have open (at most max_streams). */
inline std::int64_t session_memory_bound(server_options const& o, std::int64_t streams) {
    return o.max_receive_buffer + std::max(2 * o.max_receive_buffer, 256 * KiB) +
           std::min(streams, o.max_streams) * library_stream_bytes + 256 * KiB;
}

/** What the smux-echo tool itself needs per accepted stream, on top of the library's
    (SECURITY.md): the read buffer each echo stream holds (`smux_echo::echo_buffer_size`, also
    while idle), plus at most one page for the stream's coroutine frames (echo_stream's and
    co_spawn's: a few hundred bytes each besides the buffer) and the allocator's headers. When
    the tool stops holding a buffer for idle streams, this bound shrinks with it. */
inline constexpr std::int64_t echo_stream_bytes =
    static_cast<std::int64_t>(smux_echo::echo_buffer_size) + 4 * KiB;

inline std::string describe(smux::session_stats const& s) {
    std::ostringstream o;
    o << "received " << s.bytes_received << " B / " << s.frames_received << " frames, sent "
      << s.bytes_sent << " B / " << s.frames_sent << " frames, accepted " << s.streams_accepted
      << ", refused " << s.streams_refused << ", open " << s.streams_open << ", buffered "
      << s.buffered_bytes;
    return o.str();
}

// ---- /proc

inline std::int64_t tcp_buffer_max(char const* sysctl, std::int64_t linux_default) {
    std::ifstream in(sysctl);
    std::int64_t min = 0;
    std::int64_t def = 0;
    std::int64_t max = 0;
    if (in >> min >> def >> max && max > 0) {
        return max;
    }
    return linux_default;
}

/// The largest send buffer TCP autotuning may give a socket (tcp_wmem's maximum): a peer that
/// never reads must send more than this before a server's writes block.
inline std::int64_t tcp_send_buffer_max() {
    return tcp_buffer_max("/proc/sys/net/ipv4/tcp_wmem", 4 * MiB);
}

/// The largest receive buffer TCP autotuning may give a socket (tcp_rmem's maximum): bytes a
/// server does not read can wait there before its peer's writes block.
inline std::int64_t tcp_receive_buffer_max() {
    return tcp_buffer_max("/proc/sys/net/ipv4/tcp_rmem", 6 * MiB);
}

struct memory_sample {
    std::int64_t rss = 0;  ///< VmRSS, bytes
    std::int64_t hwm = 0;  ///< VmHWM (peak resident), bytes
};

inline std::optional<memory_sample> read_memory(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    if (!in) {
        return std::nullopt;
    }
    memory_sample m;
    bool rss = false;
    bool hwm = false;
    for (std::string line; std::getline(in, line);) {
        std::int64_t* field = nullptr;
        if (line.rfind("VmRSS:", 0) == 0) {
            field = &m.rss;
            rss = true;
        } else if (line.rfind("VmHWM:", 0) == 0) {
            field = &m.hwm;
            hwm = true;
        }
        if (field != nullptr) {
            std::istringstream fields(line.substr(6));
            std::int64_t kib = 0;
            fields >> kib;
            *field = kib * KiB;
        }
    }
    if (!rss || !hwm) {
        return std::nullopt;
    }
    return m;
}

inline std::string mib(std::int64_t bytes) {
    std::ostringstream o;
    o.setf(std::ios::fixed);
    o.precision(2);
    o << static_cast<double>(bytes) / static_cast<double>(MiB) << " MiB";
    return o.str();
}

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

// ---- the library in process: an echo server like smux-echo's, observable

/** Accepts on 127.0.0.1 and serves every connection as a server `smux::tcp_session` whose
    streams are echoed until the peer's FIN, then closed (the behaviour of smux-echo). The
    terminal error of each session and the peaks of its counters are recorded. */
class lib_server {
  public:
    struct session_entry {
        std::uint16_t peer_port = 0;
        std::unique_ptr<smux::tcp_session> session;
        std::optional<smux::error_code> ended;
        smux::session_stats last{};
        std::uint64_t max_buffered = 0;
        std::uint64_t max_open = 0;
        int echo_writes = 0;  ///< echo writes in progress (blocked on the window or the socket)
        int max_echo_writes = 0;
        std::vector<std::uint32_t> accepted;  ///< stream ids in accept order
    };

    lib_server(asio::io_context& ioc, smux::config cfg)
        : ioc_(ioc),
          cfg_(cfg),
          acceptor_(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        tasks_.spawn(ioc_, accept_loop());
    }
    lib_server(lib_server const&) = delete;
    lib_server& operator=(lib_server const&) = delete;

    [[nodiscard]] tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
    [[nodiscard]] smux::config const& configuration() const noexcept { return cfg_; }

    session_entry* find(std::uint16_t peer_port) {
        for (auto& e : sessions_) {
            if (e.peer_port == peer_port) {
                return &e;
            }
        }
        return nullptr;
    }

    /// Records the counters of every session (called after every event-loop step).
    void sample() {
        for (auto& e : sessions_) {
            e.last = e.session->stats();
            e.max_buffered = std::max(e.max_buffered, e.last.buffered_bytes);
            e.max_open = std::max(e.max_open, e.last.streams_open);
        }
    }

    [[nodiscard]] std::list<session_entry> const& sessions() const noexcept { return sessions_; }

    /// Closes the acceptor and every session, then lets every coroutine finish.
    ::testing::AssertionResult stop(clock::duration limit) {
        smux::error_code ec;
        acceptor_.close(ec);
        for (auto& e : sessions_) {
            e.session->close();
        }
        auto r = tasks_.wait(ioc_, limit);
        if (!r) {
            return r;
        }
        // Every wait_closed handler ran: nothing left refers to the entries.
        return run_until(
            ioc_,
            [this] {
                return std::all_of(sessions_.begin(), sessions_.end(),
                                   [](session_entry const& e) { return e.ended.has_value(); });
            },
            limit);
    }

  private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(as_tuple_awaitable);
            if (ec) {
                co_return;  // closed by stop()
            }
            socket.set_option(tcp::no_delay(true), ec);
            auto& e = sessions_.emplace_back();
            e.peer_port = socket.remote_endpoint().port();
            e.session =
                std::make_unique<smux::tcp_session>(smux::role::server, std::move(socket), cfg_);
            e.session->async_wait_closed([&e](smux::error_code why) { e.ended = why; });
            tasks_.spawn(ioc_, serve(e));
        }
    }

    asio::awaitable<void> serve(session_entry& e) {
        for (;;) {
            auto [ec, s] = co_await e.session->async_accept_stream(as_tuple_awaitable);
            if (ec) {
                co_return;
            }
            e.accepted.push_back(s.id());
            tasks_.spawn(ioc_, echo(e, std::move(s)));
        }
    }

    // As smux-echo's echo_stream: read up to 16 KiB, write it all back, until end of file.
    static asio::awaitable<void> echo(session_entry& e, smux::stream s) {
        std::array<char, smux_echo::echo_buffer_size> buffer;  // NOLINT: as smux-echo's
        for (;;) {
            auto [ec, n] = co_await s.async_read_some(asio::buffer(buffer), as_tuple_awaitable);
            if (n > 0) {
                ++e.echo_writes;
                e.max_echo_writes = std::max(e.max_echo_writes, e.echo_writes);
                auto [wec, written] = co_await asio::async_write(s, asio::buffer(buffer.data(), n),
                                                                 as_tuple_awaitable);
                --e.echo_writes;
                if (wec) {
                    break;
                }
            }
            if (ec) {
                break;
            }
        }
        s.close();
    }

    asio::io_context& ioc_;
    smux::config cfg_;
    tcp::acceptor acceptor_;
    std::list<session_entry> sessions_;
    task_group tasks_;
};

// ---- a well-behaved smux client

/** A real smux client session (the library's tcp_session) that must keep working while an
    attacker hits the same server. It sends keep-alives every 50 ms so that short server
    timeouts never end it, and never times the server out itself. */
class good_client {
  public:
    good_client(asio::io_context& ioc, tcp::endpoint const& ep, int version)
        : ioc_(ioc), session_(smux::role::client, connect(ioc, ep), config(version)) {}

    [[nodiscard]] smux::tcp_session& session() noexcept { return session_; }

    /// One new stream: `n` pattern bytes out, half-close, the echo read to end of file.
    void start_echo(std::size_t n, std::uint64_t seed) {
        ++started_;
        tasks_.spawn(ioc_, [this, n, seed]() -> asio::awaitable<void> {
            auto [oec, s] = co_await session_.async_open_stream(as_tuple_awaitable);
            if (oec) {
                failures_.push_back("open: " + oec.message());
                co_return;
            }
            bytes const out = random_bytes(n, seed);
            auto [wec, w] = co_await asio::async_write(s, asio::buffer(out), as_tuple_awaitable);
            if (wec) {
                failures_.push_back("write: " + wec.message());
                co_return;
            }
            s.shutdown_send();
            auto [rec, got] = co_await read_to_end(s);
            if (rec != asio::error::eof) {
                failures_.push_back("read: " + rec.message());
            } else if (got != out) {
                failures_.push_back("echo differs at byte " +
                                    std::to_string(first_difference(got, out)));
            } else {
                ++succeeded_;
            }
        });
    }

    [[nodiscard]] bool echoes_done() const noexcept { return tasks_.done(); }
    [[nodiscard]] int succeeded() const noexcept { return succeeded_; }
    [[nodiscard]] int started() const noexcept { return started_; }

    ::testing::AssertionResult check() {
        if (auto r = tasks_.check(); !r) {
            return r;
        }
        if (!failures_.empty()) {
            auto r = ::testing::AssertionFailure() << "well-behaved client:";
            for (auto const& f : failures_) {
                r << "\n  " << f;
            }
            return r;
        }
        if (!session_.is_open()) {
            return ::testing::AssertionFailure() << "well-behaved client: its session ended";
        }
        return ::testing::AssertionSuccess();
    }

    ::testing::AssertionResult wait_idle(clock::duration limit) { return tasks_.wait(ioc_, limit); }

  private:
    static tcp::socket connect(asio::io_context& ioc, tcp::endpoint const& ep) {
        tcp::socket s(ioc);
        s.connect(ep);
        s.set_option(tcp::no_delay(true));
        return s;
    }

    static smux::config config(int version) {
        smux::config cfg;
        cfg.version = version;
        cfg.keep_alive_interval = 50ms;
        cfg.keep_alive_timeout = 60s;
        return cfg;
    }

    asio::io_context& ioc_;
    smux::tcp_session session_;
    task_group tasks_;
    std::vector<std::string> failures_;
    int started_ = 0;
    int succeeded_ = 0;
};

}  // namespace smux_hostile

#endif
