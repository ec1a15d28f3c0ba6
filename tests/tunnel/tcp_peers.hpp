#ifndef SMUX_TESTS_TUNNEL_TCP_PEERS_HPP
#define SMUX_TESTS_TUNNEL_TCP_PEERS_HPP

// The two TCP ends around a tunnel: a target server (on a thread of its own) and the
// application's connections (on the test's thread), all on 127.0.0.1.

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace tunnel_test {

using std::chrono::milliseconds;

/// Byte `i` of connection `seed`'s stream: incompressible, so compression is exercised with
/// stored chunks (and the pattern differs per connection, so crossed streams show).
std::uint8_t pattern_byte(std::uint64_t seed, std::uint64_t i);

class target_server {
  public:
    enum class mode {
        /// Echoes every byte, then half-closes after the client's end of file. A connection
        /// whose first bytes are "RESET" is reset at once instead.
        echo,
        /// Reads to the end of file, then answers "BYTES FNV1A-HEX\n" and closes.
        reply_after_eof,
        /// Accepts and never reads: whatever is sent to it piles up in front of it.
        never_read,
    };

    explicit target_server(mode m);
    ~target_server();
    target_server(target_server const&) = delete;
    target_server& operator=(target_server const&) = delete;

    [[nodiscard]] unsigned short port() const noexcept { return port_; }
    [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

    /// Closes the listening socket (new connections are refused); live ones go on.
    void stop_listening();

  private:
    asio::io_context ioc_;
    asio::ip::tcp::acceptor acceptor_;
    unsigned short port_;
    std::thread thread_;
};

/** `conns` connections to 127.0.0.1:`port` at once; each sends `bytes` of its pattern while
    reading the echo and checking every byte, then closes. The failures, one per
    connection that failed; empty when all came back whole within `limit`. */
std::vector<std::string> echo_through(unsigned short port, int conns, std::size_t bytes,
                                      milliseconds limit);

/** Like `echo_through` against a `reply_after_eof` target: each connection sends `bytes`,
    half-closes, and must then read the target's reply for exactly those bytes, then the end
    of file: the half-close went through and the reply still came back. */
std::vector<std::string> half_close_through(unsigned short port, int conns, std::size_t bytes,
                                            milliseconds limit);

/** `count` connections to 127.0.0.1:`port`, opened at once and then left as they are between
    the steps (idle), each step driving all of them together and bounded in time. */
class connection_group {
  public:
    /// Connects them all (throws on failure).
    connection_group(unsigned short port, int count);

    /** Each connection sends "`tag` I" (I: its index) to an echo target and reads it back.
        The failures, one per connection whose echo did not come back whole within `limit`. */
    std::vector<std::string> echo_each(std::string const& tag, milliseconds limit);

    /** Each connection shuts its write side, then reads to the end of file (an echo target
        half-closes after its end of file). The failures, one per connection that read
        anything else or saw no end of file within `limit`. */
    std::vector<std::string> half_close_each(milliseconds limit);

  private:
    std::vector<std::string> run(std::vector<std::string>& failures, milliseconds limit);

    asio::io_context ioc_;
    std::vector<asio::ip::tcp::socket> sockets_;
    std::size_t done_ = 0;
};

/// One connection driven step by step, each step bounded in time.
class probe_connection {
  public:
    /// Connects to 127.0.0.1:`port` (throws on failure).
    explicit probe_connection(unsigned short port);

    /// Sends `message`, reads as many bytes back; what came (empty on timeout or error).
    std::string exchange(std::string const& message, milliseconds limit);

    /// Sends `message` (no reply expected).
    void send(std::string const& message);

    /** Reads until the connection ends: "eof", "error: ..." (a reset), or "open" when it is
        still open after `limit`. */
    std::string wait_closed(milliseconds limit);

  private:
    asio::io_context ioc_;
    asio::ip::tcp::socket socket_;
};

}  // namespace tunnel_test

#endif
