// The batched UDP output (sendmmsg): every queued datagram leaves intact and in order, to its
// own destination or the connected peer, and a socket that refuses them counts each once.

#include "kcp/asio/send_batch.hpp"
#include "kcp_asio/kcp_test_support.hpp"

namespace {

using namespace kcp_asio_test;
using smux::kcp::detail::send_batch;

/// Datagram `i`: its size and bytes both depend on i, so a swap or a cut shows.
bytes numbered(std::size_t i) {
    bytes d(1 + (i * 37) % smux::kcp::mtu_limit);
    for (std::size_t k = 0; k < d.size(); ++k) {
        d[k] = kcp_pattern(i * 7919 + k);
    }
    return d;
}

/// Queues `count` numbered datagrams as a link does: a full batch is flushed first.
void queue_all(send_batch& b, udp::socket& s, std::size_t count, udp::endpoint const* to,
               std::uint64_t& dropped) {
    for (std::size_t i = 0; i < count; ++i) {
        if (b.full()) {
            b.flush(s);
        }
        b.add(numbered(i), to, dropped);
    }
    b.flush(s);
}

void expect_received_in_order(udp::socket& receiver, std::size_t count) {
    receiver.non_blocking(true);
    bytes buf(smux::kcp::mtu_limit + 1);
    for (std::size_t i = 0; i < count; ++i) {
        smux::error_code ec;
        std::size_t const n = receiver.receive(asio::buffer(buf), 0, ec);
        ASSERT_FALSE(ec) << "datagram " << i << " of " << count << ": " << ec.message();
        EXPECT_EQ(bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n)), numbered(i))
            << "datagram " << i;
    }
    smux::error_code ec;
    receiver.receive(asio::buffer(buf), 0, ec);
    EXPECT_EQ(ec, asio::error::would_block) << "more datagrams than were queued";
}

TEST(KcpSendBatch, SendsEveryDatagramToItsDestinationInOrder) {
    asio::io_context ioc;
    udp::socket receiver(ioc, loopback());
    udp::socket sender(ioc, loopback());
    auto const to = receiver.local_endpoint();
    send_batch b;
    std::uint64_t dropped = 0;
    // Full batches and a partial one; few enough for the receiver's default buffer (loopback
    // drops what does not fit, and nothing reads before the end).
    std::size_t const count = 2 * send_batch::capacity + 5;
    queue_all(b, sender, count, &to, dropped);
    EXPECT_EQ(dropped, 0U);
    expect_received_in_order(receiver, count);
}

TEST(KcpSendBatch, SendsToTheConnectedPeerWithoutADestination) {
    asio::io_context ioc;
    udp::socket receiver(ioc, loopback());
    udp::socket sender(ioc, loopback());
    sender.connect(receiver.local_endpoint());
    send_batch b;
    std::uint64_t dropped = 0;
    queue_all(b, sender, send_batch::capacity + 1, nullptr, dropped);
    EXPECT_EQ(dropped, 0U);
    expect_received_in_order(receiver, send_batch::capacity + 1);
}

TEST(KcpSendBatch, ASocketThatRefusesCountsEachDatagramOnceAndEmptiesTheBatch) {
    asio::io_context ioc;
    udp::socket receiver(ioc, loopback());
    udp::socket sender(ioc, loopback());
    auto const to = receiver.local_endpoint();
    sender.close();  // every send now fails
    send_batch b;
    std::uint64_t first = 0;
    std::uint64_t second = 0;
    for (std::size_t i = 0; i < 10; ++i) {
        b.add(numbered(i), &to, i % 2 == 0 ? first : second);
    }
    b.flush(sender);
    EXPECT_EQ(first, 5U);
    EXPECT_EQ(second, 5U);
    b.flush(sender);  // nothing left to count again
    EXPECT_EQ(first + second, 10U);
    EXPECT_FALSE(b.full());
}

}  // namespace
