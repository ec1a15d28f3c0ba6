// Two KCP engines over a simulated lossy channel (seeded: drop, duplicate, reorder, delay) and a
// virtual millisecond clock: every byte arrives exactly once and in order, both directions at
// once, and the engines' memory stays within the windows the whole time.

#include <cstdint>
#include <map>
#include <random>
#include <tuple>

#include "engine_helpers.hpp"

namespace {

using namespace kcp_engine_test;

constexpr std::size_t reserve = 28;  // kcptun: crypt 20 + FEC 8

struct channel_params {
    double loss;
    double duplicate = 0.01;
    std::uint32_t base_delay = 10;  // ms, one way
    std::uint32_t jitter = 8;       // uniform 0..jitter extra: reorders datagrams
};

/// One direction of the link: datagrams in flight, keyed by delivery time then send order.
class channel {
  public:
    channel(channel_params p, std::uint32_t seed) : p_(p), rng_(seed) {}

    void send(std::span<std::byte const> d, std::uint32_t now) {
        EXPECT_LE(d.size(), 1350U);
        std::uniform_real_distribution<double> u(0, 1);
        if (u(rng_) < p_.loss) {
            return;
        }
        int const copies = u(rng_) < p_.duplicate ? 2 : 1;
        for (int i = 0; i < copies; ++i) {
            std::uniform_int_distribution<std::uint32_t> j(0, p_.jitter);
            in_flight_.emplace(std::pair{now + p_.base_delay + j(rng_), seq_++},
                               bytes(d.begin() + reserve, d.end()));
        }
    }

    template <class F>
    void deliver(std::uint32_t now, F&& to) {
        while (!in_flight_.empty() && in_flight_.begin()->first.first <= now) {
            to(in_flight_.begin()->second);
            in_flight_.erase(in_flight_.begin());
        }
    }

  private:
    channel_params p_;
    std::mt19937 rng_;
    std::uint64_t seq_ = 0;
    std::map<std::pair<std::uint32_t, std::uint64_t>, bytes> in_flight_;
};

std::byte pattern(std::uint64_t offset, std::uint8_t salt) {
    return static_cast<std::byte>((offset * 131 + (offset >> 9) + salt) & 0xff);
}

/// One end: an engine, the bytes it still has to write, and a check of what it reads.
struct endpoint {
    endpoint(engine_config const& cfg, std::uint8_t write_salt, std::uint8_t read_salt,
             std::uint64_t to_write, std::uint32_t seed)
        : e(cfg), wsalt(write_salt), rsalt(read_salt), total(to_write), rng(seed) {}

    void write(channel& out, std::uint32_t now) {
        bool wrote = false;
        while (written < total && e.can_send()) {
            std::size_t const n = std::min<std::uint64_t>(total - written, 20000);
            for (std::size_t i = 0; i < n; ++i) {
                chunk[i] = pattern(written + i, wsalt);
            }
            std::size_t const taken = e.send(std::span(chunk).first(n));
            ASSERT_GT(taken, 0U);
            written += taken;
            wrote = true;
        }
        if (wrote) {  // kcptun: write delay off, flush after every write
            e.flush(now, [&](std::span<std::byte> d) { out.send(d, now); });
        }
    }

    void read() {
        std::uniform_int_distribution<std::size_t> size(1, chunk.size());
        for (;;) {
            std::size_t const n = e.recv(std::span(chunk).first(size(rng)));
            if (n == 0) {
                return;
            }
            for (std::size_t i = 0; i < n; ++i) {
                if (chunk[i] != pattern(read_bytes + i, rsalt)) {
                    ADD_FAILURE() << "byte " << read_bytes + i << " differs";
                    read_bytes += n;
                    return;
                }
            }
            read_bytes += n;
        }
    }

    void check_bounds() const { expect_bounded(e); }

    engine e;
    std::uint8_t wsalt;
    std::uint8_t rsalt;
    std::uint64_t total;
    std::uint64_t written = 0;
    std::uint64_t read_bytes = 0;
    std::mt19937 rng;
    std::array<std::byte, 20000> chunk{};
};

engine_config transfer_config(smux::kcp::mode m) {
    engine_config cfg;
    cfg.conv = 0xdeadbeef;
    cfg.mtu = 1350;
    cfg.header_reserve = reserve;
    cfg.snd_wnd = 128;
    cfg.rcv_wnd = 256;
    cfg.stream = true;
    smux::kcp::apply_mode(cfg, m);
    return cfg;
}

/// Runs until both ends read everything the other wrote; returns the virtual time taken.
std::uint32_t transfer(engine_config const& cfg, double loss, std::uint64_t each_way,
                       std::uint32_t seed) {
    endpoint a(cfg, 1, 2, each_way, seed);
    endpoint b(cfg, 2, 1, each_way, seed + 1);
    channel ab({.loss = loss}, seed + 2);
    channel ba({.loss = loss}, seed + 3);
    std::uint32_t now = 1000;  // any start: the clock wraps freely
    std::uint32_t const limit = now + 3'600'000;
    while (a.read_bytes < each_way || b.read_bytes < each_way) {
        if (now == limit || ::testing::Test::HasFailure()) {
            ADD_FAILURE() << "stalled: a read " << a.read_bytes << ", b read " << b.read_bytes;
            break;
        }
        ab.deliver(now, [&](bytes const& d) {
            b.e.input(d, true, now, [&](std::span<std::byte> o) { ba.send(o, now); });
        });
        ba.deliver(now, [&](bytes const& d) {
            a.e.input(d, true, now, [&](std::span<std::byte> o) { ab.send(o, now); });
        });
        a.write(ab, now);
        b.write(ba, now);
        a.read();
        b.read();
        if (a.e.check(now) == now) {
            a.e.update(now, [&](std::span<std::byte> o) { ab.send(o, now); });
        }
        if (b.e.check(now) == now) {
            b.e.update(now, [&](std::span<std::byte> o) { ba.send(o, now); });
        }
        a.check_bounds();
        b.check_bounds();
        ++now;
    }
    // Nothing more arrives: no byte twice.
    for (std::uint32_t end = now + 2000; now < end; ++now) {
        ab.deliver(now, [&](bytes const& d) { b.e.input(d, true, now, [](auto) {}); });
        ba.deliver(now, [&](bytes const& d) { a.e.input(d, true, now, [](auto) {}); });
    }
    EXPECT_EQ(a.e.readable(), 0U);
    EXPECT_EQ(b.e.readable(), 0U);
    EXPECT_EQ(a.read_bytes, each_way);
    EXPECT_EQ(b.read_bytes, each_way);
    EXPECT_EQ(a.e.stats().bytes_sent, each_way);
    return now;
}

class kcp_engine_transfer : public ::testing::TestWithParam<std::tuple<smux::kcp::mode, double>> {};

TEST_P(kcp_engine_transfer, every_byte_once_and_in_order_both_ways) {
    auto const [m, loss] = GetParam();
    std::uint64_t const each_way = loss >= 0.2 ? (1U << 20) : (3U << 20);
    transfer(transfer_config(m), loss, each_way, 12345 + static_cast<std::uint32_t>(loss * 1000));
}

TEST(kcp_engine_transfer_cc, with_kcp_go_defaults_and_congestion_control) {
    engine_config cfg;  // nodelay 0, interval 100, resend 0, nc 0, message mode
    cfg.conv = 77;
    cfg.mtu = 1350;
    cfg.header_reserve = reserve;
    transfer(cfg, 0.05, 1U << 19, 99);
}

INSTANTIATE_TEST_SUITE_P(modes_and_loss, kcp_engine_transfer,
                         ::testing::Combine(::testing::Values(smux::kcp::mode::normal,
                                                              smux::kcp::mode::fast,
                                                              smux::kcp::mode::fast3),
                                            ::testing::Values(0.0, 0.01, 0.05, 0.2)));

TEST(kcp_engine_transfer_clock, the_clock_may_wrap_during_a_transfer) {
    // Start just below 2^32: sequence and time comparisons are wrap-aware.
    engine_config const cfg = transfer_config(smux::kcp::mode::fast);
    endpoint a(cfg, 1, 2, 1U << 20, 7);
    endpoint b(cfg, 2, 1, 0, 8);
    channel ab({.loss = 0.05}, 9);
    channel ba({.loss = 0.05}, 10);
    std::uint32_t now = 0xffffffffU - 500;
    for (int i = 0; i < 600000 && b.read_bytes < a.total; ++i, ++now) {
        ab.deliver(now, [&](bytes const& d) {
            b.e.input(d, true, now, [&](std::span<std::byte> o) { ba.send(o, now); });
        });
        ba.deliver(now, [&](bytes const& d) {
            a.e.input(d, true, now, [&](std::span<std::byte> o) { ab.send(o, now); });
        });
        a.write(ab, now);
        b.read();
        if (a.e.check(now) == now) {
            a.e.update(now, [&](std::span<std::byte> o) { ab.send(o, now); });
        }
        if (b.e.check(now) == now) {
            b.e.update(now, [&](std::span<std::byte> o) { ba.send(o, now); });
        }
    }
    EXPECT_EQ(b.read_bytes, a.total);
}

}  // namespace
