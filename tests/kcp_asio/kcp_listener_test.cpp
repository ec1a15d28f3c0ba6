// The listener's demultiplexing rules (KCP.md §4) with hand-made datagrams from raw sockets.

#include "kcp/kcp_vectors.hpp"
#include "kcp_asio/kcp_test_support.hpp"

namespace {

using namespace kcp_asio_test;

/// KCP.md §6 (c1) under `none`: conv 01020304, PUSH sn 0 "hello"; conv and sn replaceable.
bytes c1_datagram(std::uint32_t conv = 0x01020304, std::uint32_t sn = 0) {
    bytes d = from_hex(kcp_vectors::c1_plaintext);
    for (int i = 0; i < 4; ++i) {
        d[20 + i] = static_cast<std::byte>(conv >> (8 * i));
        d[32 + i] = static_cast<std::byte>(sn >> (8 * i));
    }
    smux::kcp::seal_crc(d);
    return d;
}

struct raw_peer {
    explicit raw_peer(asio::io_context& ioc) : socket(ioc, loopback()) {}
    void send(bytes const& d, udp::endpoint const& to) { socket.send_to(asio::buffer(d), to); }
    udp::socket socket;
};

TEST(KcpListener, RoutesByAddressAsKcpGo) {
    asio::io_context ioc;
    smux::kcp::listener l(ioc.get_executor(), loopback(), test_options("none", 0, 0));
    auto const to = l.local_endpoint();
    raw_peer a(ioc);
    raw_peer b(ioc);

    a.send(c1_datagram(), to);  // new address, readable conv: a conversation
    EXPECT_TRUE(run_until(ioc, [&] { return l.stats().conversations == 1; }));
    bytes parity = from_hex("000102030405060708090a0b0c0d0e0f00000000 02000000f200");
    parity.resize(60);
    smux::kcp::seal_crc(parity);
    b.send(parity, to);                      // parity from a new address: never a conversation
    a.send(c1_datagram(0x0a0b0c0d, 5), to);  // other conv, sn != 0: dropped
    bytes bad = c1_datagram();
    bad[40] ^= std::byte{1};
    b.send(bad, to);
    EXPECT_TRUE(run_until(ioc, [&] {
        auto const s = l.stats();
        return s.unroutable == 1 && s.foreign_conv == 1 && s.dropped.bad_crc == 1;
    }));
    EXPECT_EQ(l.stats().conversations, 1U);

    std::optional<smux::error_code> first_read;
    std::optional<smux::kcp::stream> first;
    l.async_accept([&](smux::error_code ec, smux::kcp::stream s) {
        EXPECT_FALSE(ec);
        first.emplace(std::move(s));
    });
    EXPECT_TRUE(run_until(ioc, [&] { return first.has_value(); }));
    EXPECT_EQ(first->conv(), 0x01020304U);
    std::array<char, 16> buf{};
    std::size_t got = 0;
    first->async_read_some(asio::buffer(buf), [&](smux::error_code ec, std::size_t n) {
        got = n;
        first_read = ec;
    });
    EXPECT_TRUE(run_until(ioc, [&] { return first_read.has_value(); }));
    EXPECT_EQ(std::string(buf.data(), got), "hello");

    first_read.reset();
    first->async_read_some(asio::buffer(buf),
                           [&](smux::error_code ec, std::size_t) { first_read = ec; });
    a.send(c1_datagram(0x0a0b0c0d, 0), to);  // other conv with sn 0: replaces the first
    EXPECT_TRUE(run_until(ioc, [&] { return first_read.has_value(); }));
    EXPECT_EQ(*first_read, asio::error::connection_reset);
    EXPECT_EQ(l.stats().replaced, 1U);
    EXPECT_EQ(l.stats().conversations, 2U);
    std::optional<smux::kcp::stream> second;
    l.async_accept([&](smux::error_code, smux::kcp::stream s) { second.emplace(std::move(s)); });
    EXPECT_TRUE(run_until(ioc, [&] { return second.has_value(); }));
    EXPECT_EQ(second->conv(), 0x0a0b0c0dU);
    second->close();
    EXPECT_TRUE(run_until(ioc, [&] { return l.stats().live == 0; }));
}

TEST(KcpListener, AcceptIsCancellable) {
    asio::io_context ioc;
    smux::kcp::listener l(ioc.get_executor(), loopback(), test_options());
    asio::cancellation_signal cancel;
    std::optional<smux::error_code> result;
    l.async_accept(asio::bind_cancellation_slot(
        cancel.slot(), [&](smux::error_code ec, smux::kcp::stream) { result = ec; }));
    run_ready(ioc);
    cancel.emit(asio::cancellation_type::total);
    EXPECT_TRUE(run_until(ioc, [&] { return result.has_value(); }));
    EXPECT_EQ(*result, asio::error::operation_aborted);
}

}  // namespace
