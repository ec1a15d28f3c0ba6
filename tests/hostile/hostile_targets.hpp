#ifndef SMUX_TESTS_HOSTILE_HOSTILE_TARGETS_HPP
#define SMUX_TESTS_HOSTILE_HOSTILE_TARGETS_HPP

// What the attacks are aimed at and what must survive them: the servers' settings (for both
// targets), the library's echo server in process (its exact errors and counters), and a
// well-behaved smux client.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "hostile_watch.hpp"
#include "smux-echo/echo_server.hpp"

namespace smux_hostile {

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

inline std::string describe(smux::session_stats const& s) {
    std::ostringstream o;
    o << "received " << s.bytes_received << " B / " << s.frames_received << " frames, sent "
      << s.bytes_sent << " B / " << s.frames_sent << " frames, accepted " << s.streams_accepted
      << ", refused " << s.streams_refused << ", open " << s.streams_open << ", buffered "
      << s.buffered_bytes;
    return o.str();
}

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
        /// Echo writes in progress (blocked on the window or the socket), and their peak.
        smux_echo::echo_write_gauge echo_writes;
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
            smux_echo::start_echo(std::move(s), &e.echo_writes);
        }
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
