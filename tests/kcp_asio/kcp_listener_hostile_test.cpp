// A listener facing hostile datagrams over loopback UDP (KCP.md §4, kcp-go's
// Listener.packetInput): garbage, truncated crypt/FEC/KCP headers, bad CRCs, oversized
// datagrams, other conversations from a known address and floods of new conversations. Each
// is dropped and counted where kcp-go drops it, or opens a conversation where kcp-go opens
// one; no more than kcp-go's accept backlog of them ever wait unaccepted, and honest clients
// are still served.
// The engine's own parsing of hostile segments is tested in tests/kcp/engine_hostile_test.cpp.

#include <algorithm>
#include <asio/detached.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <smux/kcp/segment.hpp>

#include "kcp_asio/kcp_test_support.hpp"

namespace {

using namespace kcp_asio_test;
using asio::awaitable;
using asio::use_awaitable;
using smux::kcp::listener_stats;

/// kcp-go's acceptBacklog (sess.go): new sessions are refused while this many wait for
/// AcceptKCP.
constexpr std::size_t accept_backlog = 128;

/// Datagrams sent before the listener reads them: a small share of what a default socket
/// receive buffer holds, so that the kernel drops none and every count below is exact.
constexpr std::size_t datagrams_per_round = 32;

void put_le(bytes& b, std::size_t at, std::uint32_t v, std::size_t width) {
    for (std::size_t i = 0; i < width; ++i) {
        b[at + i] = static_cast<std::byte>(v >> (8 * i));
    }
}

/// One KCP segment: header (kcp-go's layout) and `data`.
bytes kcp_segment(std::uint32_t conv, std::uint32_t sn, std::string_view data,
                  smux::kcp::command cmd = smux::kcp::command::push) {
    constexpr std::size_t header_size = smux::kcp::segment_header_size;
    smux::kcp::segment_header const h{.conv = conv,
                                      .cmd = cmd,
                                      .wnd = 128,
                                      .sn = sn,
                                      .len = static_cast<std::uint32_t>(data.size())};
    bytes out(header_size);
    smux::kcp::encode_segment_header(h, std::span<std::byte, header_size>(out.data(), header_size));
    out += to_bytes(data);
    return out;
}

/// An FEC data shard around `kcp`; its size field is 2 + the KCP bytes, as kcp-go writes it,
/// unless `size` says otherwise.
bytes fec_data(bytes const& kcp, std::uint32_t seqid = 0,
               std::optional<std::uint16_t> size = std::nullopt) {
    bytes out(smux::kcp::fec_data_header_size);
    put_le(out, 0, seqid, 4);
    put_le(out, 4, smux::kcp::fec_flag_data, 2);
    put_le(out, 6, size.value_or(static_cast<std::uint16_t>(2 + kcp.size())), 2);
    out += kcp;
    return out;
}

/// An FEC parity shard of `length` bytes (header included); no conv can be read from it.
bytes fec_parity(std::size_t length, std::uint32_t seqid) {
    bytes out(length, std::byte{0x5a});
    put_le(out, 0, seqid, 4);
    put_le(out, 4, smux::kcp::fec_flag_parity, 2);
    return out;
}

/// The first datagram of a kcptun client (FEC on): a data shard holding PUSH sn 0.
bytes first_datagram(std::uint32_t conv, std::string_view data = "hello") {
    return fec_data(kcp_segment(conv, 0, data));
}

/// What a kcp-go peer configured as `o` puts around FEC or KCP bytes: a nonce (zeros here)
/// and the CRC in front, everything encrypted; nothing without a cipher.
class sealer {
  public:
    explicit sealer(smux::kcp::options const& o) : crypt_(smux::kcp::make_crypt(o)) {}

    bytes operator()(bytes const& inner) { return seal(inner, false); }
    /// As `operator()`, but the CRC does not match what follows it.
    bytes with_wrong_crc(bytes const& inner) { return seal(inner, true); }

  private:
    bytes seal(bytes const& inner, bool wrong_crc) {
        if (!crypt_) {
            return inner;
        }
        bytes d(smux::kcp::crypt_header_size);
        d += inner;
        smux::kcp::seal_crc(d);
        if (wrong_crc) {
            d[smux::kcp::nonce_size] ^= std::byte{1};
        }
        crypt_->encrypt(d);
        return d;
    }

    std::shared_ptr<smux::kcp::block_crypt> crypt_;
};

/// UDP sockets on 127.0.0.1, each on a port this test has not used before: the listener
/// keys conversations by address, so a port handed out again would look like a known peer.
class fresh_sources {
  public:
    explicit fresh_sources(asio::io_context& ioc) : ioc_(&ioc) {}

    udp::socket next() {
        std::vector<udp::socket> reused;  // kept bound meanwhile, so the kernel picks others
        for (;;) {
            udp::socket s(*ioc_, loopback());
            if (used_.insert(s.local_endpoint().port()).second) {
                return s;
            }
            reused.push_back(std::move(s));
        }
    }

  private:
    asio::io_context* ioc_;
    std::set<std::uint16_t> used_;
};

/** Sends `datagrams[i]` from `from[i % from.size()]`, and after every round runs the loop
    until the listener has read them all. */
::testing::AssertionResult send_paced(asio::io_context& ioc, smux::kcp::listener const& l,
                                      std::vector<udp::socket>& from,
                                      std::vector<bytes> const& datagrams) {
    std::uint64_t const base = l.stats().datagrams_in;
    for (std::size_t i = 0; i < datagrams.size(); ++i) {
        from[i % from.size()].send_to(asio::buffer(datagrams[i]), l.local_endpoint());
        if ((i + 1) % datagrams_per_round == 0 || i + 1 == datagrams.size()) {
            auto r = run_until(ioc, [&] { return l.stats().datagrams_in >= base + i + 1; });
            if (!r) {
                return r << " (" << i + 1 << " of " << datagrams.size() << " datagrams sent)";
            }
        }
    }
    return ::testing::AssertionSuccess();
}

/** First datagrams of new conversations (`first_datagram`, conv `first_conv + i`), each from
    a source port the listener never saw, a round at a time: after each round the loop runs
    until the listener routed all of them (each one opened a conversation or was refused
    for the backlog) and the round's sockets are closed. */
class conversation_flood {
  public:
    conversation_flood(asio::io_context& ioc, smux::kcp::listener const& l,
                       smux::kcp::options const& o, fresh_sources& sources)
        : ioc_(&ioc), l_(&l), seal_(o), sources_(&sources) {}

    ::testing::AssertionResult send(std::uint32_t first_conv, std::size_t count) {
        auto const routed = [](listener_stats const& s) {
            return s.conversations + s.backlog_full;
        };
        std::uint64_t const base = routed(l_->stats());
        std::vector<udp::socket> round;
        for (std::size_t i = 0; i < count; ++i) {
            round.push_back(sources_->next());
            round.back().send_to(
                asio::buffer(seal_(first_datagram(first_conv + static_cast<std::uint32_t>(i)))),
                l_->local_endpoint());
            if (round.size() == datagrams_per_round || i + 1 == count) {
                auto r = run_until(*ioc_, [&] {
                    auto const s = l_->stats();
                    max_live_ = std::max(max_live_, s.live);
                    return routed(s) >= base + i + 1;
                });
                if (!r) {
                    return r << " (" << i + 1 << " of " << count << " first datagrams sent)";
                }
                round.clear();
            }
        }
        return ::testing::AssertionSuccess();
    }

    /// The most conversations alive after any handler that ran during `send`.
    [[nodiscard]] std::size_t max_live() const noexcept { return max_live_; }

  private:
    asio::io_context* ioc_;
    smux::kcp::listener const* l_;
    sealer seal_;
    fresh_sources* sources_;
    std::size_t max_live_ = 0;
};

/// Accepts one conversation, running the loop meanwhile.
std::optional<smux::kcp::stream> accept_now(asio::io_context& ioc, smux::kcp::listener& l) {
    auto accepted = std::make_shared<std::optional<smux::kcp::stream>>();
    l.async_accept([accepted](smux::error_code ec, smux::kcp::stream s) {
        EXPECT_FALSE(ec) << ec.message();
        accepted->emplace(std::move(s));
    });
    EXPECT_TRUE(run_until(ioc, [&] { return accepted->has_value(); }));
    return std::move(*accepted);
}

/// What a read of `start_read` got, once `ec` is set (the state outlives a failed wait).
struct read_outcome {
    std::string text;
    std::optional<smux::error_code> ec;
};

/// Starts reading `size` bytes from `s`.
std::shared_ptr<read_outcome> start_read(smux::kcp::stream& s, std::size_t size) {
    auto r = std::make_shared<read_outcome>();
    r->text.resize(size);
    asio::async_read(s, asio::buffer(r->text), [r](smux::error_code ec, std::size_t n) {
        r->text.resize(n);
        r->ec = ec;
    });
    return r;
}

/// `size` bytes read from `s`, running the loop meanwhile.
std::string read_now(asio::io_context& ioc, smux::kcp::stream& s, std::size_t size) {
    auto r = start_read(s, size);
    EXPECT_TRUE(run_until(ioc, [&] { return r->ec.has_value(); }));
    EXPECT_EQ(r->ec.value_or(asio::error::timed_out), smux::error_code{});
    return r->text;
}

/// Echoes what `s` receives until a read or write fails, then tells `ended` why.
awaitable<void> echo_until_error(smux::kcp::stream s,
                                 std::function<void(std::uint32_t, smux::error_code)> ended) {
    std::array<char, 2048> buf{};
    for (;;) {
        auto [read_ec, n] = co_await s.async_read_some(asio::buffer(buf), as_tuple_awaitable);
        smux::error_code ec = read_ec;
        if (!ec) {
            auto [write_ec, written] =
                co_await asio::async_write(s, asio::buffer(buf.data(), n), as_tuple_awaitable);
            ec = write_ec;
        }
        if (ec) {
            ended(s.conv(), ec);
            co_return;
        }
    }
}

/** A new honest client with `o` completes an echo round trip through `l`, whose next accept
    must hand it out; then both ends close, the client first. On failure coroutines stay
    parked on locals: use with ASSERT_TRUE. */
::testing::AssertionResult honest_echo(asio::io_context& ioc, smux::kcp::listener& l,
                                       smux::kcp::options const& o, std::string const& msg) {
    using namespace std::chrono_literals;
    auto c = connected_client(ioc, l.local_endpoint(), o);
    std::optional<smux::kcp::stream> served;
    std::optional<std::uint64_t> client_sent;  // every datagram the client ever sent
    task_group g;
    g.spawn(ioc, [&]() -> awaitable<void> {
        served.emplace(co_await l.async_accept(use_awaitable));
        std::string buf(msg.size(), '\0');
        co_await asio::async_read(*served, asio::buffer(buf), use_awaitable);
        co_await asio::async_write(*served, asio::buffer(buf), use_awaitable);
    });
    // On the client's strand, so that nothing of the server slips in between the check and
    // the close: once nothing is left to send (an idle flush sends nothing), the count is final.
    g.spawn(c.get_executor(), [&]() -> awaitable<void> {
        co_await echo_once(c, msg);
        asio::steady_timer poll(c.get_executor());
        for (;;) {
            auto const st = c.stats();
            if (st.kcp.snd_queue + st.kcp.snd_buf + st.kcp.pending_acks == 0) {
                client_sent = st.packets.datagrams_out - st.send_dropped;
                c.close();
                co_return;
            }
            poll.expires_after(1ms);
            co_await poll.async_wait(use_awaitable);
        }
    });
    auto r = g.wait(ioc);
    if (!r) {
        return r;
    }
    // The server stream leaves (on return) only once it was handed all of them: a datagram of
    // the client arriving later (a last ACK is enough) would open another conversation, as in
    // kcp-go (KCP.md §7, trap 15).
    return run_until(ioc,
                     [&] { return served->stats().packets.datagrams_in == client_sent.value(); });
}

TEST(KcpListenerHostile, GarbageAndBrokenHeadersAreDroppedAndCounted) {
    asio::io_context ioc;
    auto const o = test_options("aes", 10, 3);
    smux::kcp::listener l(ioc.get_executor(), loopback(), o);
    sealer seal(o);
    fresh_sources sources(ioc);

    // Each datagram with the counter it must land in: nothing here carries a readable conv
    // behind a matching CRC, so none may open a conversation (kcp-go drops them all).
    std::vector<bytes> garbage;
    std::uint64_t too_short = 0;
    std::uint64_t bad_crc = 0;
    std::uint64_t unroutable = 0;
    auto add = [&](bytes d, std::uint64_t& counter) {
        garbage.push_back(std::move(d));
        ++counter;
    };
    std::mt19937 rng(20261203);
    for (int i = 0; i < 400; ++i) {  // random bytes: shorter than the crypt header, or bad CRC
        bytes d(rng() % 1501);
        std::generate(d.begin(), d.end(), [&] { return static_cast<std::byte>(rng()); });
        bool const short_one = d.size() < smux::kcp::crypt_header_size;
        add(std::move(d), short_one ? too_short : bad_crc);
    }
    bytes const valid = seal(first_datagram(0x0badf00d));
    for (std::size_t n = 0; n < smux::kcp::crypt_header_size; ++n) {  // a cut crypt header
        add(bytes(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n)), too_short);
    }
    // Whole crypt header, CRC right, fewer than 24 bytes behind it: cut KCP headers, and cut
    // FEC data shards (from 6 bytes on they hold the data flag).
    bytes const segment = kcp_segment(0x0badf00d, 0, "hello");
    bytes const shard = first_datagram(0x0badf00d);
    for (std::size_t n = 0; n < smux::kcp::segment_header_size; ++n) {
        add(seal(bytes(segment.begin(), segment.begin() + static_cast<std::ptrdiff_t>(n))),
            too_short);
        add(seal(bytes(shard.begin(), shard.begin() + static_cast<std::ptrdiff_t>(n))), too_short);
    }
    // A data shard too short to hold a conv after its 8-byte header, and parity shards: no
    // conv to open a conversation with (kcp-go: convRecovered stays false).
    for (std::size_t n = smux::kcp::segment_header_size;
         n < smux::kcp::fec_data_header_size + smux::kcp::segment_header_size; ++n) {
        add(seal(bytes(shard.begin(), shard.begin() + static_cast<std::ptrdiff_t>(n))), unroutable);
    }
    for (std::size_t n : {24U, 100U, 1400U}) {
        add(seal(fec_parity(n, 10)), unroutable);
    }
    // Bad CRCs: a wrong CRC, a flipped bit anywhere (the nonce, the CRC, the FEC header, the
    // segment, the last byte), another key, another cipher, no crypt header at all.
    add(seal.with_wrong_crc(shard), bad_crc);
    for (std::size_t at : {std::size_t{0}, std::size_t{15}, std::size_t{17}, std::size_t{22},
                           std::size_t{30}, valid.size() - 1}) {
        bytes d = valid;
        d[at] ^= std::byte{0x10};
        add(std::move(d), bad_crc);
    }
    auto other_key = o;
    other_key.key = "not the listener's key";
    add(sealer(other_key)(shard), bad_crc);
    add(sealer(test_options("salsa20"))(shard), bad_crc);
    add(shard, bad_crc);
    // Longer than any datagram kcp-go reads (1500 bytes): cut there, so the CRC fails.
    add(seal(first_datagram(0x0badf00d, std::string(3000, 'x'))), bad_crc);
    bytes huge(9000);
    std::generate(huge.begin(), huge.end(), [&] { return static_cast<std::byte>(rng()); });
    add(std::move(huge), bad_crc);

    std::vector<udp::socket> from;
    for (int i = 0; i < 48; ++i) {
        from.push_back(sources.next());
    }
    ASSERT_TRUE(send_paced(ioc, l, from, garbage));
    auto const s = l.stats();
    EXPECT_EQ(s.datagrams_in, garbage.size());
    EXPECT_EQ(s.dropped.too_short, too_short);
    EXPECT_EQ(s.dropped.bad_crc, bad_crc);
    EXPECT_EQ(s.unroutable, unroutable);
    EXPECT_EQ(s.backlog_full + s.foreign_conv + s.replaced, 0U);
    EXPECT_EQ(s.conversations, 0U);
    EXPECT_EQ(s.live, 0U);

    // Behind a good CRC, a readable conv opens a conversation from a new address whatever
    // the segment holds (kcp-go creates the session before its Input parses anything); the
    // engine then takes what it can, and counts what it refuses.
    struct opener {
        bytes inner;
        std::uint64_t malformed;
        std::uint64_t fec_malformed;
        std::string readable;
    };
    bytes past_end = kcp_segment(0xa1, 0, "short");
    put_le(past_end, 20, 100, 4);  // len runs past the datagram
    bytes bad_command = kcp_segment(0xa2, 0, "x");
    bad_command[4] = std::byte{0x10};
    bytes shard_past_end = kcp_segment(0xa3, 0, "short");
    put_le(shard_past_end, 20, 1000, 4);
    std::map<std::uint32_t, opener> openers;
    openers[0xa1] = {past_end, 1, 0, ""};
    openers[0xa2] = {bad_command, 1, 0, ""};
    openers[0xa3] = {fec_data(shard_past_end), 1, 0, ""};
    // A lone ACK opens one too (KCP.md §7, trap 7).
    openers[0xa4] = {kcp_segment(0xa4, 0, "", smux::kcp::command::ack), 0, 0, ""};
    // A data shard whose size field lies: kcp-go hands everything after the 8-byte header to
    // Input on arrival (the size field matters only to rebuilt shards), so "hello" is read;
    // the decoder refuses to keep the shard.
    openers[0xa5] = {fec_data(kcp_segment(0xa5, 0, "hello"), 0, 0xffff), 0, 1, "hello"};
    std::vector<bytes> first;
    std::vector<udp::socket> first_from;
    for (auto const& [conv, x] : openers) {
        first.push_back(seal(x.inner));
        first_from.push_back(sources.next());
    }
    ASSERT_TRUE(send_paced(ioc, l, first_from, first));
    EXPECT_EQ(l.stats().conversations, openers.size());
    EXPECT_EQ(l.stats().live, openers.size());
    std::vector<smux::kcp::stream> accepted;
    for (std::size_t i = 0; i < openers.size(); ++i) {
        auto a = accept_now(ioc, l);
        ASSERT_TRUE(a);
        auto const it = openers.find(a->conv());
        ASSERT_NE(it, openers.end()) << a->conv();
        SCOPED_TRACE(::testing::Message() << "conv " << a->conv());
        if (!it->second.readable.empty()) {
            EXPECT_EQ(read_now(ioc, *a, it->second.readable.size()), it->second.readable);
        }
        auto const st = a->stats();
        EXPECT_EQ(st.packets.dropped.malformed, it->second.malformed);
        EXPECT_EQ(st.packets.dropped.fec_malformed, it->second.fec_malformed);
        EXPECT_EQ(st.kcp.rcv_queue + st.kcp.rcv_buf, 0U);
        accepted.push_back(std::move(*a));
    }
    auto const after = l.stats();
    EXPECT_EQ(after.dropped.too_short, too_short);
    EXPECT_EQ(after.dropped.bad_crc, bad_crc);
    EXPECT_EQ(after.unroutable, unroutable);
    accepted.clear();
    EXPECT_TRUE(run_until(ioc, [&] { return l.stats().live == 0; }));

    ASSERT_TRUE(honest_echo(ioc, l, o, "served after the garbage"));
}

TEST(KcpListenerHostile, WithoutACipherGarbageWithAConvOpensConversationsAsInKcpGo) {
    // kcp-go with a nil BlockCrypt (never kcptun: `none` still has a CRC) has nothing to
    // refuse garbage by: any 24 bytes from a new address whose uint16 at offset 4 is no FEC
    // flag are read as a segment, and their first 4 bytes as the conv of a new session.
    asio::io_context ioc;
    auto const o = test_options("", 0, 0);
    smux::kcp::listener l(ioc.get_executor(), loopback(), o);
    fresh_sources sources(ioc);
    std::mt19937 rng(61);
    auto random_bytes = [&](std::size_t n) {
        bytes d(n);
        std::generate(d.begin(), d.end(), [&] { return static_cast<std::byte>(rng()); });
        return d;
    };

    constexpr std::size_t opening = 40;
    std::vector<bytes> garbage;
    std::vector<udp::socket> from;
    std::set<std::uint32_t> convs;
    for (std::size_t i = 0; i < opening; ++i) {
        bytes d = random_bytes(smux::kcp::segment_header_size + rng() % 1477);
        d[4] = std::byte{0};  // no KCP command, and no FEC flag either
        std::uint32_t conv = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            conv |= std::to_integer<std::uint32_t>(d[k]) << (8 * k);
        }
        convs.insert(conv);
        garbage.push_back(std::move(d));
        from.push_back(sources.next());
    }
    ASSERT_EQ(convs.size(), opening);
    ASSERT_TRUE(send_paced(ioc, l, from, garbage));
    EXPECT_EQ(l.stats().conversations, opening);
    EXPECT_EQ(l.stats().live, opening);

    // Without a conv: shorter than a segment header, parity, a data shard too short to hold one.
    std::vector<bytes> without_conv;
    for (std::size_t n = 0; n < smux::kcp::segment_header_size; ++n) {
        without_conv.push_back(random_bytes(n));
    }
    without_conv.push_back(fec_parity(60, 3));
    bytes const shard = fec_data(kcp_segment(7, 0, ""));
    without_conv.emplace_back(shard.begin(), shard.begin() + 30);
    std::vector<udp::socket> other;
    other.push_back(sources.next());
    ASSERT_TRUE(send_paced(ioc, l, other, without_conv));
    auto const s = l.stats();
    EXPECT_EQ(s.datagrams_in, opening + without_conv.size());
    EXPECT_EQ(s.dropped.too_short, smux::kcp::segment_header_size);
    EXPECT_EQ(s.dropped.bad_crc, 0U);
    EXPECT_EQ(s.unroutable, 2U);
    EXPECT_EQ(s.backlog_full + s.foreign_conv + s.replaced, 0U);
    EXPECT_EQ(s.conversations, opening);

    std::vector<smux::kcp::stream> accepted;
    for (std::size_t i = 0; i < opening; ++i) {
        auto a = accept_now(ioc, l);
        ASSERT_TRUE(a);
        EXPECT_EQ(convs.erase(a->conv()), 1U) << a->conv();
        auto const st = a->stats();
        // kcp-go's Input refuses it too: -2 (a length past the end) or -3 (a bad command).
        EXPECT_EQ(st.packets.dropped.malformed, 1U);
        EXPECT_EQ(st.kcp.rcv_queue + st.kcp.rcv_buf, 0U);
        accepted.push_back(std::move(*a));
    }
    accepted.clear();
    EXPECT_TRUE(run_until(ioc, [&] { return l.stats().live == 0; }));

    ASSERT_TRUE(honest_echo(ioc, l, o, "served after the garbage"));
}

TEST(KcpListenerHostile, NewConversationFloodStopsAtTheAcceptBacklog) {
    asio::io_context ioc;
    auto const o = test_options();  // no idle timeout: nothing leaves the table by itself
    smux::kcp::listener l(ioc.get_executor(), loopback(), o);
    fresh_sources sources(ioc);
    conversation_flood flood(ioc, l, o, sources);
    constexpr std::size_t sources_count = 2000;
    constexpr std::uint32_t first_conv = 0x10000;

    ASSERT_TRUE(flood.send(first_conv, sources_count));
    EXPECT_LE(flood.max_live(), accept_backlog);
    auto const s = l.stats();
    EXPECT_EQ(s.datagrams_in, sources_count);
    EXPECT_EQ(s.conversations, accept_backlog);
    EXPECT_EQ(s.backlog_full, sources_count - accept_backlog);
    EXPECT_EQ(s.live, accept_backlog);
    EXPECT_EQ(s.unroutable + s.foreign_conv + s.replaced, 0U);
    EXPECT_EQ(s.dropped.too_short + s.dropped.bad_crc, 0U);

    // Rounds of 32 are read whole before the next is sent: the first 128 sources are the
    // ones waiting, and an accept loop drains them.
    std::vector<smux::kcp::stream> accepted;
    task_group g;
    g.spawn(ioc, [&]() -> awaitable<void> {
        for (std::size_t i = 0; i < accept_backlog; ++i) {
            accepted.push_back(co_await l.async_accept(use_awaitable));
        }
    });
    ASSERT_TRUE(g.wait(ioc));
    std::set<std::uint32_t> convs;
    for (auto const& a : accepted) {
        convs.insert(a.conv());
    }
    ASSERT_EQ(convs.size(), accept_backlog);
    EXPECT_EQ(*convs.begin(), first_conv);
    EXPECT_EQ(*convs.rbegin(), first_conv + accept_backlog - 1);
    // Accepted conversations stay in the table (kcp-go's sessions map); the backlog has room.
    EXPECT_EQ(l.stats().live, accept_backlog);

    ASSERT_TRUE(honest_echo(ioc, l, o, "served after the flood"));
    EXPECT_EQ(l.stats().conversations, accept_backlog + 1);
    accepted.clear();
    EXPECT_TRUE(run_until(ioc, [&] { return l.stats().live == 0; }));
}

TEST(KcpListenerHostile, IdleFloodConversationsExpireWhileAnActiveOneIsServed) {
    using namespace std::chrono_literals;
    asio::io_context ioc;
    auto server_opts = test_options();
    // Short for a test, long against a loaded machine stalling the loop: the honest
    // conversation below must not look idle between two of its echo rounds.
    server_opts.idle_timeout = 2s;
    smux::kcp::listener l(ioc.get_executor(), loopback(), server_opts);
    auto const client_opts = test_options();
    constexpr std::size_t sources_count = 400;
    constexpr std::uint32_t first_conv = 0x20000;
    auto const from_flood = [&](std::uint32_t conv) {
        return conv >= first_conv && conv < first_conv + sources_count;
    };

    std::map<std::uint32_t, smux::error_code> flood_ended;  // conv: why its stream ended
    std::size_t flood_accepted = 0;
    auto const record = [&](std::uint32_t conv, smux::error_code ec) {
        if (from_flood(conv)) {
            flood_ended[conv] = ec;
        }
    };
    auto honest = connected_client(ioc, l.local_endpoint(), client_opts);
    bool stop = false;
    bool honest_done = false;
    int rounds = 0;
    task_group g;
    g.spawn(ioc, [&]() -> awaitable<void> {
        co_await echo_until_error(co_await l.async_accept(use_awaitable), record);
    });
    g.spawn(ioc, [&]() -> awaitable<void> {
        while (!stop) {
            co_await echo_once(honest, "round " + std::to_string(rounds));
            ++rounds;
        }
        honest_done = true;
    });
    ASSERT_TRUE(run_until(ioc, [&] { return rounds > 0; }));

    fresh_sources sources(ioc);
    conversation_flood flood(ioc, l, server_opts, sources);
    ASSERT_TRUE(flood.send(first_conv, sources_count));
    // Expiry may free room during the flood, but no more than 128 ever wait unaccepted, and
    // the first 128 always find room.
    EXPECT_LE(flood.max_live(), accept_backlog + 1);
    auto const s = l.stats();
    std::uint64_t const flood_conversations = s.conversations - 1;
    EXPECT_EQ(flood_conversations + s.backlog_full, sources_count);
    EXPECT_GE(flood_conversations, accept_backlog);

    // The backlog drains; idle flood conversations, accepted or not, expire and leave.
    g.spawn(ioc, [&]() -> awaitable<void> {
        for (;;) {
            auto [ec, a] = co_await l.async_accept(as_tuple_awaitable);
            if (ec) {
                co_return;
            }
            flood_accepted += from_flood(a.conv()) ? 1 : 0;
            auto ex = a.get_executor();
            asio::co_spawn(ex, echo_until_error(std::move(a), record), asio::detached);
        }
    });
    EXPECT_TRUE(run_until(
        ioc, [&] { return l.stats().live == 1 && flood_ended.size() == flood_accepted; }));
    EXPECT_LE(flood_accepted, accept_backlog);
    stop = true;
    ASSERT_TRUE(run_until(ioc, [&] { return honest_done; }));
    task_group after;
    after.spawn(ioc, [&]() -> awaitable<void> { co_await echo_once(honest, "still served"); });
    auto late = connected_client(ioc, l.local_endpoint(), client_opts);
    after.spawn(ioc, [&]() -> awaitable<void> { co_await echo_once(late, "a new client"); });
    ASSERT_TRUE(after.wait(ioc));
    // The honest conversation is still the first one: had it expired, its next datagram
    // would have opened another.
    EXPECT_EQ(l.stats().conversations, flood_conversations + 2);
    EXPECT_EQ(l.stats().live, 2U);

    l.close();
    honest.close();
    late.close();
    EXPECT_TRUE(g.wait(ioc));
    EXPECT_EQ(flood_ended.size(), flood_accepted);
    for (auto const& [conv, ec] : flood_ended) {
        EXPECT_EQ(ec, asio::error::timed_out) << "conv " << conv;
    }
}

TEST(KcpListenerHostile, OtherConversationsFromAKnownAddress) {
    // The rules of KCP.md §4 for a known address, through FEC data shards under a cipher
    // (kcptun's defaults), and a replacement while the backlog is full.
    asio::io_context ioc;
    auto const o = test_options("aes", 10, 3);
    smux::kcp::listener l(ioc.get_executor(), loopback(), o);
    auto const to = l.local_endpoint();
    sealer seal(o);
    fresh_sources sources(ioc);
    udp::socket peer = sources.next();
    std::uint32_t seqid = 0;
    std::uint64_t sent = 0;
    auto send_sealed = [&](bytes const& inner) {
        peer.send_to(asio::buffer(seal(inner)), to);
        ++sent;
    };
    auto send_shard = [&](bytes const& kcp) { send_sealed(fec_data(kcp, seqid++)); };
    auto until_read = [&] {
        // The flood's datagrams are counted too: wait for the total.
        return run_until(ioc, [&] { return l.stats().datagrams_in >= sent; });
    };
    constexpr std::uint32_t x = 0xa0000001;
    constexpr std::uint32_t y = 0xb0000002;
    constexpr std::uint32_t z = 0xc0000003;

    send_shard(kcp_segment(x, 0, "hello"));
    auto first = accept_now(ioc, l);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->conv(), x);
    EXPECT_EQ(read_now(ioc, *first, 5), "hello");

    // Another conv with sn != 0: dropped, in an FEC data shard and in plain KCP alike.
    send_shard(kcp_segment(z, 7, "evil"));
    send_sealed(kcp_segment(z, 3, "evil"));
    // Parity carries no conv: it goes to the address's conversation.
    send_sealed(fec_parity(60, seqid++));
    ASSERT_TRUE(until_read());
    EXPECT_EQ(l.stats().foreign_conv, 2U);
    EXPECT_EQ(l.stats().unroutable, 0U);
    EXPECT_EQ(l.stats().conversations, 1U);
    EXPECT_EQ(first->stats().packets.datagrams_in, 2U);  // "hello" and the parity
    send_shard(kcp_segment(x, 1, "world"));
    EXPECT_EQ(read_now(ioc, *first, 5), "world");

    // 128 other addresses fill the backlog; then another conv with sn 0 from the known one.
    conversation_flood flood(ioc, l, o, sources);
    constexpr std::uint32_t first_flood_conv = 0x30000;
    ASSERT_TRUE(flood.send(first_flood_conv, accept_backlog));
    sent += accept_backlog;
    EXPECT_EQ(l.stats().live, accept_backlog + 1);
    auto pending = start_read(*first, 1);
    send_shard(kcp_segment(y, 0, "again"));
    ASSERT_TRUE(run_until(ioc, [&] { return pending->ec.has_value(); }));
    // kcp-go closes the old session first, then finds no room for the new one.
    EXPECT_EQ(*pending->ec, asio::error::connection_reset);
    auto s = l.stats();
    EXPECT_EQ(s.replaced, 1U);
    EXPECT_EQ(s.backlog_full, 1U);
    EXPECT_EQ(s.conversations, accept_backlog + 1);
    EXPECT_EQ(s.live, accept_backlog);
    // The address is unknown now: the old conv's next segment would open a conversation of
    // its own (KCP.md §7, trap 15), but the backlog is still full.
    send_shard(kcp_segment(x, 2, "stray"));
    ASSERT_TRUE(until_read());
    EXPECT_EQ(l.stats().backlog_full, 2U);

    std::vector<smux::kcp::stream> drained;
    for (std::size_t i = 0; i < accept_backlog; ++i) {
        auto a = accept_now(ioc, l);
        ASSERT_TRUE(a);
        EXPECT_GE(a->conv(), first_flood_conv);
        EXPECT_LT(a->conv(), first_flood_conv + accept_backlog);
        drained.push_back(std::move(*a));
    }
    // The new peer's retransmission is taken now, from an address free again.
    send_shard(kcp_segment(y, 0, "again"));
    auto second = accept_now(ioc, l);
    ASSERT_TRUE(second);
    EXPECT_EQ(second->conv(), y);
    EXPECT_EQ(read_now(ioc, *second, 5), "again");
    // The replaced conversation's stray segments are foreign to its successor.
    send_shard(kcp_segment(x, 3, "stray"));
    ASSERT_TRUE(until_read());
    s = l.stats();
    EXPECT_EQ(s.foreign_conv, 3U);
    EXPECT_EQ(s.replaced, 1U);
    EXPECT_EQ(s.conversations, accept_backlog + 2);
    EXPECT_EQ(s.live, accept_backlog + 1);
}

}  // namespace
