// Shared by the KCP front-end tests: loopback endpoints, options, a connected client.

#ifndef SMUX_TESTS_KCP_ASIO_KCP_TEST_SUPPORT_HPP
#define SMUX_TESTS_KCP_ASIO_KCP_TEST_SUPPORT_HPP

#include <smux/kcp/asio/listener.hpp>
#include <smux/kcp/asio/stream.hpp>
#include <smux/kcp/packet.hpp>

#include "support/asio_harness.hpp"

namespace kcp_asio_test {

using namespace smux_test;
using udp = asio::ip::udp;

inline udp::endpoint loopback() {
    return {asio::ip::make_address("127.0.0.1"), 0};
}

inline smux::kcp::options test_options(std::string crypt = "aes", std::size_t data = 10,
                                       std::size_t parity = 3) {
    smux::kcp::options o;
    o.crypt = std::move(crypt);
    o.data_shards = data;
    o.parity_shards = parity;
    o.mode = smux::kcp::mode::fast3;  // 10 ms ticks keep loopback tests quick
    o.socket_buffer = 0;
    return o;
}

inline smux::kcp::stream connected_client(asio::io_context& ioc, udp::endpoint const& to,
                                          smux::kcp::options const& o) {
    smux::kcp::stream s(ioc.get_executor(), o);
    smux::error_code ec;
    s.connect(to, ec);
    EXPECT_FALSE(ec) << ec.message();
    return s;
}

/// Deterministic bytes: `kcp_pattern(i)` at offset i.
inline std::byte kcp_pattern(std::uint64_t i) {
    return static_cast<std::byte>((i * 2654435761U >> 13) & 0xff);
}

/// Writes `msg` on `c` and expects it back.
inline asio::awaitable<void> echo_once(smux::kcp::stream& c, std::string msg) {
    co_await asio::async_write(c, asio::buffer(msg), asio::use_awaitable);
    std::string back(msg.size(), '\0');
    co_await asio::async_read(c, asio::buffer(back), asio::use_awaitable);
    EXPECT_EQ(back, msg);
}

}  // namespace kcp_asio_test

#endif
