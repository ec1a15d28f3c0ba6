// The sans-I/O packet pipeline: KCP.md §6 datagrams in, two conversations over a lossy
// virtual link with and without FEC under several ciphers, hostile datagrams counted.

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <random>
#include <smux/kcp/conversation.hpp>
#include <smux/kcp/packet.hpp>
#include <string>

#include "kcp/kcp_vectors.hpp"
#include "support/wire.hpp"

namespace {

using namespace smux_wire;
using smux::kcp::block_crypt;
using smux::kcp::conversation;
using smux::kcp::engine_config;

std::shared_ptr<block_crypt> cipher(std::string const& name) {
    return block_crypt::make(name, smux::kcp::derive_key(smux::kcp::default_password));
}

engine_config config(std::uint32_t conv = 0x01020304) {
    engine_config cfg;
    cfg.conv = conv;
    cfg.mtu = 1350;
    cfg.snd_wnd = 128;
    cfg.rcv_wnd = 256;
    cfg.stream = true;
    smux::kcp::apply_mode(cfg, smux::kcp::mode::fast);
    return cfg;
}

struct capture {
    std::vector<bytes> datagrams;
    void operator()(std::span<std::byte> d) { datagrams.emplace_back(d.begin(), d.end()); }
};

std::string read_all(conversation& c) {
    std::string s(4096, '\0');
    std::size_t const n = c.recv(std::as_writable_bytes(std::span(s)));
    s.resize(n);
    return s;
}

/// A plaintext vector encrypted with `name` as a kcptun peer would send it.
bytes sealed(char const* plaintext_hex, std::string const& name) {
    bytes d = from_hex(plaintext_hex);
    cipher(name)->encrypt(d);
    return d;
}

TEST(KcpConversation, DecodesVectorC1) {
    conversation c(config(), cipher("aes"));
    capture out;
    bytes d = sealed(kcp_vectors::c1_plaintext, "aes");
    c.input(d, 1, out);
    EXPECT_EQ(read_all(c), "hello");
    EXPECT_EQ(c.counters().dropped.bad_crc, 0U);
}

TEST(KcpConversation, DecodesVectorC2WithFec) {
    conversation c(config(), cipher("aes"), 10, 3);
    capture out;
    bytes d = sealed(kcp_vectors::c2_plaintext, "aes");
    c.input(d, 1, out);
    EXPECT_EQ(read_all(c), "hello");
}

TEST(KcpConversation, DecodesVectorEUnderNone) {
    for (char const* v : {kcp_vectors::c1_plaintext, kcp_vectors::c2_plaintext}) {
        conversation c(config(), cipher("none"));  // FEC off: FEC datagrams still accepted
        capture out;
        bytes d = from_hex(v);
        c.input(d, 1, out);
        EXPECT_EQ(read_all(c), "hello");
    }
}

TEST(KcpConversation, AckGoesOutSealed) {
    auto aes = cipher("aes");
    conversation c(config(), aes, 10, 3);
    capture out;
    bytes d = sealed(kcp_vectors::c2_plaintext, "aes");
    c.input(d, 1, out);
    c.flush(2, out);
    ASSERT_FALSE(out.datagrams.empty());
    bytes reply = out.datagrams.front();
    cipher("aes")->decrypt(reply);
    ASSERT_TRUE(smux::kcp::crc_matches(reply));
    auto const fec = smux::kcp::read_fec_header(std::span(reply).subspan(20));
    ASSERT_TRUE(fec);
    EXPECT_EQ(fec->seqid, 0U);
    EXPECT_EQ(fec->flag, smux::kcp::fec_flag_data);
}

TEST(KcpConversation, HostileDatagramsAreDroppedAndCounted) {
    conversation c(config(), cipher("aes"), 10, 3);
    capture out;
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
        bytes d(rng() % 1500);
        std::generate(d.begin(), d.end(), [&] { return static_cast<std::byte>(rng()); });
        c.input(d, static_cast<std::uint32_t>(i), out);
    }
    bytes bad = sealed(kcp_vectors::c1_plaintext, "aes");
    bad[30] ^= std::byte{1};
    c.input(bad, 3000, out);
    bytes tiny(10);
    c.input(tiny, 3000, out);
    auto const n = c.counters();
    EXPECT_EQ(n.datagrams_in, 2002U);
    EXPECT_EQ(n.dropped.bad_crc + n.dropped.too_short, 2002U);
    EXPECT_GE(n.dropped.too_short, 1U);
    EXPECT_EQ(read_all(c), "");
    EXPECT_TRUE(out.datagrams.empty());
}

TEST(KcpConversation, TruncatedAndForeignHeadersAreCounted) {
    auto none = cipher("none");
    conversation c(config(), none, 10, 3);
    capture out;
    auto with_crc = [&](bytes d) {
        smux::kcp::seal_crc(d);
        c.input(d, 1, out);
    };
    bytes const c1 = from_hex(kcp_vectors::c1_plaintext);
    with_crc(bytes(c1.begin(), c1.begin() + 40));  // 20 KCP bytes: too short
    bytes fec_short = from_hex("000102030405060708090a0b0c0d0e0f00000000 00000000f100");
    fec_short.resize(20 + 24, std::byte{0});  // data flag, size field reads 0: decoder refuses
    fec_short[24] = std::byte{0xf1};
    with_crc(fec_short);
    bytes other = c1;
    other[20] = std::byte{0x99};  // another conv
    with_crc(other);
    bytes bad_cmd = c1;
    bad_cmd[24] = std::byte{0x10};
    with_crc(bad_cmd);
    auto const n = c.counters().dropped;
    EXPECT_EQ(n.too_short, 2U);  // the first, and the 16 KCP bytes of the FEC one
    EXPECT_EQ(n.fec_malformed, 1U);
    EXPECT_EQ(n.wrong_conv, 1U);
    EXPECT_EQ(n.malformed, 1U);
}

/// Two conversations back to back over a seeded lossy, reordering link.
struct link_sim {
    struct in_flight {
        std::uint32_t at;
        bytes d;
    };
    std::deque<in_flight> ab, ba;
    std::mt19937 rng{1};
    double loss;
    std::uint32_t now = 5000;

    void push(std::deque<in_flight>& q, std::span<std::byte> d) {
        if (std::uniform_real_distribution<double>(0, 1)(rng) < loss) {
            return;
        }
        q.push_back({now + 5 + static_cast<std::uint32_t>(rng() % 6), bytes(d.begin(), d.end())});
    }
    static void deliver(std::deque<in_flight>& q, conversation& to, std::uint32_t now,
                        std::deque<in_flight>& back, link_sim& l) {
        std::stable_sort(q.begin(), q.end(), [](auto& x, auto& y) { return x.at < y.at; });
        while (!q.empty() && q.front().at <= now) {
            bytes d = std::move(q.front().d);
            q.pop_front();
            to.input(d, now, [&](std::span<std::byte> r) { l.push(back, r); });
        }
    }
};

std::byte pattern(std::uint64_t i) {
    return static_cast<std::byte>((i * 7 + (i >> 11)) & 0xff);
}

void transfer(std::string const& crypt, std::size_t data, std::size_t parity, double loss,
              std::uint64_t total) {
    SCOPED_TRACE(crypt + " fec " + std::to_string(data) + "/" + std::to_string(parity));
    auto ca = crypt.empty() ? nullptr : cipher(crypt);
    auto cb = crypt.empty() ? nullptr : cipher(crypt);
    conversation a(config(0xabcdef01), ca, data, parity);
    conversation b(config(0xabcdef01), cb, data, parity);
    link_sim l;
    l.loss = loss;
    std::uint64_t sent = 0, got = 0;
    std::array<std::byte, 8192> buf{};
    std::uint32_t const limit = l.now + 600'000;
    auto to_b = [&](std::span<std::byte> d) { l.push(l.ab, d); };
    auto to_a = [&](std::span<std::byte> d) { l.push(l.ba, d); };
    while (got < total && l.now < limit) {
        while (sent < total && a.can_send()) {
            std::size_t const n = std::min<std::uint64_t>(buf.size(), total - sent);
            for (std::size_t i = 0; i < n; ++i) {
                buf[i] = pattern(sent + i);
            }
            sent += a.send(std::span(buf).first(n), l.now, to_b);
        }
        link_sim::deliver(l.ab, b, l.now, l.ba, l);
        link_sim::deliver(l.ba, a, l.now, l.ab, l);
        for (std::size_t n; (n = b.recv(buf)) != 0; got += n) {
            for (std::size_t i = 0; i < n; ++i) {
                ASSERT_EQ(buf[i], pattern(got + i)) << "at " << got + i;
            }
        }
        a.update(l.now, to_b);
        b.update(l.now, to_a);
        ++l.now;
    }
    EXPECT_EQ(got, total);
    EXPECT_EQ(a.counters().dropped.bad_crc + b.counters().dropped.bad_crc, 0U);
    if (data != 0 && loss > 0) {
        EXPECT_GT(b.counters().fec_recovered, 0U);
    }
}

TEST(KcpConversation, LossyTransferWithoutFec) {
    transfer("aes", 0, 0, 0.05, 3 << 20);
    transfer("", 0, 0, 0.05, 1 << 20);
}

TEST(KcpConversation, LossyTransferWithFec) {
    for (char const* c : {"aes", "salsa20", "none", "xor", "sm4"}) {
        transfer(c, 10, 3, 0.05, 1 << 20);
    }
}

}  // namespace
