// The batched UDP output (sendmmsg, and UDP_SEGMENT for runs of equal-sized datagrams where
// the kernel has it): every queued datagram leaves intact and in order, to its own destination
// or the connected peer, and a socket that refuses them counts each once.

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

/// Datagram `i` of a bulk transfer: full-sized, as KCP's data segments are, except every
/// seventh, which is short; the bytes depend on i.
bytes bulk(std::size_t i) {
    bytes d(i % 7 == 6 ? 100 + i : 1350);
    for (std::size_t k = 0; k < d.size(); ++k) {
        d[k] = kcp_pattern(i * 7919 + k);
    }
    return d;
}

using datagram_maker = bytes (*)(std::size_t);

/// Queues `count` datagrams as a link does: a full batch is flushed first.
void queue_all(send_batch& b, udp::socket& s, std::size_t count, udp::endpoint const* to,
               std::uint64_t& dropped, datagram_maker make = numbered) {
    for (std::size_t i = 0; i < count; ++i) {
        if (b.full()) {
            b.flush(s);
        }
        b.add(make(i), to, dropped);
    }
    b.flush(s);
}

void expect_received_in_order(udp::socket& receiver, std::size_t count,
                              datagram_maker make = numbered) {
    receiver.non_blocking(true);
    bytes buf(smux::kcp::mtu_limit + 1);
    for (std::size_t i = 0; i < count; ++i) {
        smux::error_code ec;
        std::size_t const n = receiver.receive(asio::buffer(buf), 0, ec);
        ASSERT_FALSE(ec) << "datagram " << i << " of " << count << ": " << ec.message();
        EXPECT_EQ(bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n)), make(i))
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

TEST(KcpSendBatch, RunsOfEqualSizedDatagramsArriveAsTheDatagramsQueued) {
    asio::io_context ioc;
    udp::socket receiver(ioc, loopback());
    receiver.set_option(udp::socket::receive_buffer_size(1 << 20));
    udp::socket sender(ioc, loopback());
    sender.connect(receiver.local_endpoint());
    send_batch b;
    std::uint64_t dropped = 0;
    std::size_t const count = 2 * send_batch::capacity + 3;
    queue_all(b, sender, count, nullptr, dropped, bulk);
    EXPECT_EQ(dropped, 0U);
    expect_received_in_order(receiver, count, bulk);
}

TEST(KcpSendBatch, EqualSizedDatagramsForTwoDestinationsReachTheirOwn) {
    asio::io_context ioc;
    udp::socket even(ioc, loopback());
    udp::socket odd(ioc, loopback());
    for (auto* r : {&even, &odd}) {
        r->set_option(udp::socket::receive_buffer_size(1 << 20));
    }
    udp::socket sender(ioc, loopback());
    auto const to_even = even.local_endpoint();
    auto const to_odd = odd.local_endpoint();
    send_batch b;
    std::uint64_t dropped = 0;
    // Destinations change every third datagram, so runs are cut by destination.
    std::size_t const count = send_batch::capacity + 6;
    for (std::size_t i = 0; i < count; ++i) {
        if (b.full()) {
            b.flush(sender);
        }
        b.add(bulk(i), (i / 3) % 2 == 0 ? &to_even : &to_odd, dropped);
    }
    b.flush(sender);
    EXPECT_EQ(dropped, 0U);
    auto const of_group = [](std::size_t group) {
        return [group](std::size_t i) { return (group + i / 3 * 2) * 3 + i % 3; };
    };
    for (auto const& [receiver, group] : {std::pair{&even, 0U}, std::pair{&odd, 1U}}) {
        auto const index = of_group(group);
        receiver->non_blocking(true);
        bytes buf(smux::kcp::mtu_limit + 1);
        for (std::size_t i = 0; index(i) < count; ++i) {
            smux::error_code ec;
            std::size_t const n = receiver->receive(asio::buffer(buf), 0, ec);
            ASSERT_FALSE(ec) << "datagram " << index(i) << ": " << ec.message();
            EXPECT_EQ(bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n)),
                      bulk(index(i)))
                << "datagram " << index(i);
        }
        smux::error_code ec;
        receiver->receive(asio::buffer(buf), 0, ec);
        EXPECT_EQ(ec, asio::error::would_block) << "more datagrams than were queued";
    }
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
