// udp-relay as a child process between a client socket and an upstream socket of the test.
// Synchronisation is by events only: the relay's listening line, its stats line on SIGUSR1
// (taken after it handled everything already in its sockets), and datagrams awaited with
// bounded timeouts.

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "tools/udp_relay/udp_socket.hpp"

namespace {

using namespace std::chrono_literals;
using udp_relay_test::udp_socket;

constexpr auto patience = 10s;
constexpr int batch = 50;  // datagrams in flight at once: far below any socket buffer

/// The number after `"key":` inside the object after `"dir":` (or at top level).
std::uint64_t field(std::string const& json, std::string const& dir, std::string const& key) {
    auto at = dir.empty() ? 0 : json.find('"' + dir + "\":{");
    at = json.find('"' + key + "\":", at);
    if (at == std::string::npos) {
        ADD_FAILURE() << "no " << dir << "." << key << " in " << json;
        return 0;
    }
    return std::stoull(json.substr(at + key.size() + 3));
}

class relay_process {
  public:
    relay_process(std::uint16_t upstream, std::vector<std::string> const& flags)
        : child_(argv(upstream, flags)) {
        auto const line = child_.read_line(patience);
        if (!line || line->find("\"listening\":\"127.0.0.1:") == std::string::npos) {
            throw std::runtime_error("udp-relay did not start: " + line.value_or("(nothing)"));
        }
        port_ = static_cast<std::uint16_t>(std::stoul(line->substr(line->find("1:") + 2)));
    }

    [[nodiscard]] std::uint16_t port() const { return port_; }

    /// The stats line, counting everything sent to the relay before this call.
    std::string stats() {
        child_.signal(SIGUSR1);
        return child_.read_line(patience).value_or("");
    }

    /// The final stats line after SIGTERM, and a clean exit.
    std::string stop() {
        child_.signal(SIGTERM);
        auto line = child_.read_line(patience).value_or("");
        EXPECT_EQ(child_.wait(patience), 0);
        return line;
    }

  private:
    static std::vector<std::string> argv(std::uint16_t upstream,
                                         std::vector<std::string> const& flags) {
        std::vector<std::string> a{UDP_RELAY_PATH, "--listen", "127.0.0.1:0", "--upstream",
                                   "127.0.0.1:" + std::to_string(upstream)};
        a.insert(a.end(), flags.begin(), flags.end());
        return a;
    }

    smux_child::child_process child_;
    std::uint16_t port_ = 0;
};

/// `n` datagrams from `at`, or fewer when one does not come within the patience.
std::vector<udp_relay_test::datagram> receive(udp_socket const& s, std::uint64_t n) {
    std::vector<udp_relay_test::datagram> got;
    while (got.size() < n) {
        auto d = s.receive(patience);
        if (!d) {
            break;
        }
        got.push_back(*d);
    }
    return got;
}

/// Sends 0..n-1 through the relay in batches and returns the sequence numbers the upstream
/// received, in arrival order; the relay's stats say how many to wait for.
std::vector<int> through(relay_process& relay, udp_socket const& client, udp_socket const& server,
                         int n) {
    std::vector<int> seen;
    std::uint64_t forwarded = 0;
    for (int i = 0; i < n; i += batch) {
        for (int k = i; k < std::min(n, i + batch); ++k) {
            client.send_to(relay.port(), std::to_string(k));
        }
        auto const stats = relay.stats();
        EXPECT_EQ(field(stats, "up", "in"), static_cast<std::uint64_t>(std::min(n, i + batch)));
        auto const out = field(stats, "up", "out") + field(stats, "up", "held");
        for (auto const& d : receive(server, out - forwarded)) {
            seen.push_back(std::stoi(d.bytes));
        }
        forwarded = out;
    }
    EXPECT_EQ(seen.size(), forwarded);
    return seen;
}

/// |x - n·p| within 6 standard deviations of Binomial(n, p).
void expect_binomial(std::uint64_t x, int n, double p) {
    double const mean = n * p;
    double const sigma = std::sqrt(n * p * (1 - p));
    EXPECT_LE(std::abs(static_cast<double>(x) - mean), 6 * sigma)
        << x << " of " << n << " at p = " << p;
}

bool has_inversion(std::vector<int> const& v) {
    return !std::is_sorted(v.begin(), v.end());
}

TEST(UdpRelay, CleanPathDeliversEveryDatagramOnceInOrderBothWays) {
    udp_socket server, client;
    relay_process relay(server.port(), {});
    for (int i = 0; i < 500; i += batch) {
        for (int k = i; k < i + batch; ++k) {
            client.send_to(relay.port(), std::to_string(k));
        }
        auto const up = receive(server, batch);
        ASSERT_EQ(up.size(), static_cast<std::size_t>(batch));
        for (int k = 0; k < batch; ++k) {
            EXPECT_EQ(up[k].bytes, std::to_string(i + k));
            server.send_to(up[k].from_port, up[k].bytes);
        }
        auto const back = receive(client, batch);
        ASSERT_EQ(back.size(), static_cast<std::size_t>(batch));
        for (int k = 0; k < batch; ++k) {
            EXPECT_EQ(back[k].bytes, std::to_string(i + k));
            EXPECT_EQ(back[k].from_port, relay.port());
        }
    }
    auto const stats = relay.stop();
    for (char const* dir : {"up", "down"}) {
        EXPECT_EQ(field(stats, dir, "in"), 500U) << stats;
        EXPECT_EQ(field(stats, dir, "out"), 500U) << stats;
        EXPECT_EQ(field(stats, dir, "dropped"), 0U) << stats;
    }
    EXPECT_EQ(field(stats, "", "clients"), 1U);
}

std::vector<int> lossy_run(std::string const& seed) {
    udp_socket server, client;
    relay_process relay(server.port(), {"--loss", "0.2,0", "--seed", seed});
    auto seen = through(relay, client, server, 2000);
    auto const stats = relay.stop();
    EXPECT_EQ(field(stats, "up", "dropped") + field(stats, "up", "out"), 2000U) << stats;
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end())) << "reordered without jitter";
    return seen;
}

TEST(UdpRelay, LossStaysWithinTheBinomialBoundAndFollowsTheSeed) {
    auto const first = lossy_run("42");
    expect_binomial(first.size(), 2000, 0.8);
    EXPECT_EQ(lossy_run("42"), first) << "the same seed must drop the same datagrams";
    EXPECT_NE(lossy_run("43"), first);
}

TEST(UdpRelay, DuplicatesAppear) {
    udp_socket server, client;
    relay_process relay(server.port(), {"--duplicate", "0.1,0", "--seed", "7"});
    auto const seen = through(relay, client, server, 1000);
    auto const stats = relay.stop();
    std::set<int> const unique(seen.begin(), seen.end());
    EXPECT_EQ(unique.size(), 1000U) << "no loss asked for";
    EXPECT_EQ(seen.size() - unique.size(), field(stats, "up", "duplicated")) << stats;
    expect_binomial(seen.size() - unique.size(), 1000, 0.1);
}

TEST(UdpRelay, JitterReordersWithoutLoss) {
    udp_socket server, client;
    relay_process relay(server.port(), {"--delay", "2", "--jitter", "20,0", "--seed", "3"});
    auto const seen = through(relay, client, server, 200);
    relay.stop();
    EXPECT_EQ(std::set<int>(seen.begin(), seen.end()).size(), 200U);
    EXPECT_EQ(seen.size(), 200U);
    EXPECT_TRUE(has_inversion(seen));
}

TEST(UdpRelay, ReorderHoldsSomeDatagramsBack) {
    udp_socket server, client;
    relay_process relay(server.port(), {"--reorder", "0.3,0", "--reorder-delay", "15"});
    auto const seen = through(relay, client, server, 100);
    auto const stats = relay.stop();
    EXPECT_EQ(seen.size(), 100U);
    EXPECT_GT(field(stats, "up", "reordered"), 0U) << stats;
    EXPECT_TRUE(has_inversion(seen));
}

TEST(UdpRelay, RateLimitSpacesDatagramsOut) {
    udp_socket server, client;
    relay_process relay(server.port(), {"--rate", "20000"});  // bytes per second
    auto const start = std::chrono::steady_clock::now();
    for (int k = 0; k < 20; ++k) {
        client.send_to(relay.port(), std::string(1000, 'x'));
    }
    ASSERT_EQ(receive(server, 20).size(), 20U);
    // 20 kB at 20 kB/s: the last one cannot arrive before a second has passed (a lower bound
    // only: a slow machine makes it later, never sooner).
    EXPECT_GE(std::chrono::steady_clock::now() - start, 950ms);
    relay.stop();
}

TEST(UdpRelay, EachClientGetsItsOwnUpstreamPort) {
    udp_socket server, a, b;
    relay_process relay(server.port(), {});
    a.send_to(relay.port(), "from a");
    b.send_to(relay.port(), "from b");
    auto const got = receive(server, 2);
    ASSERT_EQ(got.size(), 2U);
    EXPECT_NE(got[0].from_port, got[1].from_port);
    for (auto const& d : got) {
        EXPECT_NE(d.from_port, relay.port());
        server.send_to(d.from_port, "reply to " + d.bytes);
    }
    EXPECT_EQ(a.receive(patience).value_or(udp_relay_test::datagram{}).bytes, "reply to from a");
    EXPECT_EQ(b.receive(patience).value_or(udp_relay_test::datagram{}).bytes, "reply to from b");
    EXPECT_EQ(field(relay.stop(), "", "clients"), 2U);
}

TEST(UdpRelay, DelayQueueIsBounded) {
    udp_socket server, client;
    relay_process relay(server.port(), {"--delay", "60000", "--queue-limit", "10"});
    for (int k = 0; k < 30; ++k) {
        client.send_to(relay.port(), std::to_string(k));
    }
    auto const stats = relay.stats();
    EXPECT_EQ(field(stats, "up", "in"), 30U) << stats;
    EXPECT_EQ(field(stats, "up", "held"), 10U) << stats;
    EXPECT_EQ(field(stats, "up", "overflow"), 20U) << stats;
    EXPECT_EQ(field(stats, "up", "out"), 0U) << stats;
    relay.stop();
}

TEST(UdpRelay, RelaysWithLargerSocketBuffers) {
    udp_socket server, client;
    relay_process relay(server.port(), {"--sockbuf", "1048576"});
    auto const seen = through(relay, client, server, 200);
    EXPECT_EQ(seen.size(), 200U);
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    relay.stop();
}

TEST(UdpRelay, RefusesBadFlags) {
    for (auto const& flags : std::vector<std::vector<std::string>>{{"--loss", "1.5"},
                                                                   {"--jitter", "-1"},
                                                                   {"--loss", "0.1,0.2,0.3"},
                                                                   {"--sockbuf", "-1"}}) {
        std::vector<std::string> argv{UDP_RELAY_PATH, "--upstream", "127.0.0.1:9"};
        argv.insert(argv.end(), flags.begin(), flags.end());
        smux_child::child_process child(argv, smux_child::child_process::stderr_mode::pipe);
        EXPECT_NE(child.wait(patience).value_or(0), 0) << flags[0];
    }
}

}  // namespace
