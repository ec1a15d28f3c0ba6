// The C++ server of the per-stream command protocol (README.md), for the Go client: it runs
// in-process on its own thread and io_context, on 127.0.0.1 and an ephemeral port, and
// records what happened on every session and on the streams whose outcome the Go client
// cannot see (half-close, keep-alive, version mismatch).

#ifndef SMUX_TESTS_INTEROP_COMMAND_SERVER_HPP
#define SMUX_TESTS_INTEROP_COMMAND_SERVER_HPP

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <smux/smux.hpp>
#include <string>
#include <thread>
#include <vector>

#include "interop_support.hpp"

namespace interop {

/// What one command stream did.
struct stream_outcome {
    std::string command;  ///< the command line
    bool ok = false;
    std::string detail;          ///< why not ok, or notes
    std::uint64_t received = 0;  ///< bytes read after the command line
    std::string received_sha;    ///< their SHA-256
    smux::error_code write_error;
};

/// How one session ended.
struct session_outcome {
    bool ended = false;
    smux::error_code terminal;
    smux::session_stats stats;  ///< at the end
};

class command_server {
  public:
    explicit command_server(smux::config cfg);
    ~command_server();
    command_server(command_server const&) = delete;
    command_server& operator=(command_server const&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

    /// Snapshots (any thread).
    [[nodiscard]] std::vector<session_outcome> sessions() const;
    [[nodiscard]] std::vector<stream_outcome> streams(std::string const& verb) const;
    [[nodiscard]] std::vector<stream_outcome> streams_all() const;

    /// Waits until `n` sessions ended (any thread).
    bool wait_sessions_ended(std::size_t n, std::chrono::milliseconds timeout) const;
    /// Waits until `n` streams whose command starts with `verb` finished.
    bool wait_streams(std::string const& verb, std::size_t n,
                      std::chrono::milliseconds timeout) const;

    /// Closes the listener and every session, and joins the thread.
    void stop();

  private:
    struct session_entry;
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(std::shared_ptr<session_entry> e);
    asio::awaitable<void> handle(std::shared_ptr<session_entry> e, smux::stream s);
    asio::awaitable<void> run_command(session_entry& e, smux::stream& s, stream_reader& r,
                                      std::vector<std::string> const& args, stream_outcome& out);
    std::shared_ptr<asio::steady_timer> release_timer(std::string const& key);
    void record(stream_outcome o);

    smux::config cfg_;
    asio::io_context ioc_;
    asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::thread thread_;
    std::promise<void> thread_done_;
    std::future<void> thread_finished_;
    bool stopped_ = false;

    // io_context thread only
    std::vector<std::weak_ptr<session_entry>> live_;
    std::map<std::string, std::shared_ptr<asio::steady_timer>> releases_;
    std::map<std::string, bool> released_;

    mutable std::mutex mu_;
    mutable std::condition_variable cv_;
    std::vector<session_outcome> sessions_;
    std::vector<stream_outcome> streams_;
};

}  // namespace interop

#endif
