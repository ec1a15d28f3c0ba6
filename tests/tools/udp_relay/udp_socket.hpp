#ifndef SMUX_UDP_RELAY_TEST_UDP_SOCKET_HPP
#define SMUX_UDP_RELAY_TEST_UDP_SOCKET_HPP

// The tests' side of the relay: plain POSIX UDP sockets on 127.0.0.1 with bounded waits
// (poll with a deadline), so a lost datagram fails a test by timeout, never hangs it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace udp_relay_test {

struct datagram {
    std::string bytes;
    std::uint16_t from_port = 0;
};

class udp_socket {
  public:
    udp_socket() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in a = loopback(0);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            throw std::runtime_error("udp_socket: socket/bind failed");
        }
    }
    ~udp_socket() { ::close(fd_); }
    udp_socket(udp_socket const&) = delete;
    udp_socket& operator=(udp_socket const&) = delete;

    [[nodiscard]] std::uint16_t port() const {
        sockaddr_in a{};
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        return ntohs(a.sin_port);
    }

    void send_to(std::uint16_t port, std::string const& bytes) const {
        sockaddr_in a = loopback(port);
        if (::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a),
                     sizeof a) != static_cast<ssize_t>(bytes.size())) {
            throw std::runtime_error("udp_socket: sendto failed");
        }
    }

    /// The next datagram, or nothing once `timeout` passed.
    std::optional<datagram> receive(std::chrono::milliseconds timeout) const {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
            return std::nullopt;
        }
        char buf[65'536];
        sockaddr_in from{};
        socklen_t len = sizeof from;
        ssize_t const n =
            ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) {
            return std::nullopt;
        }
        return datagram{std::string(buf, static_cast<std::size_t>(n)), ntohs(from.sin_port)};
    }

  private:
    static sockaddr_in loopback(std::uint16_t port) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return a;
    }

    int fd_;
};

}  // namespace udp_relay_test

#endif
