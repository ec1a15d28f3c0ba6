// smux-tunnel against Debian's kcptun 20210922 binaries: our client with kcptun-server and
// kcptun-client with our server, at kcptun's defaults and at three other settings, each
// with parallel connections whose echoed bytes are checked one by one; and a key mismatch
// both ways, which must end in a clear log line rather than a silent hang.
//
// The connections read the whole echo before they close: kcptun closes both directions of a
// stream at the first end of file, so a half-close cannot cross it (README).

#include "tunnel/tcp_peers.hpp"
#include "tunnel/tunnel_test_support.hpp"

namespace {

using namespace tunnel_test;

constexpr int connections = 4;
constexpr std::size_t bytes_each = 4 << 20;
constexpr auto transfer_limit = 60s;
constexpr char const* custom_key = "smux-tunnel test key";

struct settings {
    char const* name;
    std::vector<std::string> flags;  ///< given to both ends
};

void PrintTo(settings const& s, std::ostream* os) {
    *os << s.name;
}

settings const all_settings[] = {
    {"kcptun_defaults", {}},  // aes with the default key, fast, FEC 10/3, compression, smux v1
    {"none_nocomp_nofec_smux2_fast3",
     {"--crypt", "none", "--nocomp", "--datashard", "0", "--parityshard", "0", "--smuxver", "2",
      "--mode", "fast3"}},
    {"salsa20_custom_key", {"--crypt", "salsa20", "--key", custom_key}},
    {"aes128_custom_key", {"--crypt", "aes-128", "--key", custom_key}},
};

/// kcptun-server on a free UDP port of 127.0.0.1, once it is about to bind (it logs no line
/// after binding; a datagram sent before is lost and resent by KCP, never fatal).
struct kcptun_server {
    kcptun_server(std::string const& target, std::vector<std::string> const& flags)
        : port(free_udp_port()),
          process(
              args({kcptun_server_path, "-l", "127.0.0.1:" + std::to_string(port), "-t", target},
                   flags)) {}

    bool started() { return process.wait_for("key derivation done", 20s).has_value(); }

    unsigned short port;
    logged_process process;
};

class KcptunPairing : public ::testing::TestWithParam<settings> {};

TEST_P(KcptunPairing, OurClientWithKcptunServer) {
    SKIP_WITHOUT_KCPTUN();
    target_server target(target_server::mode::echo);
    kcptun_server server(target.address(), GetParam().flags);
    ASSERT_TRUE(server.started()) << server.process.log();
    logged_process client(args({tunnel_path, "client", "-l", "127.0.0.1:0", "-r",
                                "127.0.0.1:" + std::to_string(server.port)},
                               GetParam().flags));
    auto const local = client.listening_address();
    ASSERT_NE(local, "") << client.log();

    auto const failures = echo_through(port_of(local), connections, bytes_each, transfer_limit);
    EXPECT_TRUE(failures.empty()) << joined(failures) << client.log() << server.process.log();
    EXPECT_TRUE(client.wait_for("stream closed", 5s)) << client.log();
    expect_clean_exit(client, SIGTERM);
}

TEST_P(KcptunPairing, KcptunClientWithOurServer) {
    SKIP_WITHOUT_KCPTUN();
    target_server target(target_server::mode::echo);
    logged_process server(args({tunnel_path, "server", "-l", "127.0.0.1:0", "-t", target.address()},
                               GetParam().flags));
    auto const remote = server.listening_address();
    ASSERT_NE(remote, "") << server.log();
    logged_process client(
        args({kcptun_client_path, "-l", "127.0.0.1:0", "-r", remote}, GetParam().flags));
    auto const local = client.listening_address();
    ASSERT_NE(local, "") << client.log();

    auto const failures = echo_through(port_of(local), connections, bytes_each, transfer_limit);
    EXPECT_TRUE(failures.empty()) << joined(failures) << server.log() << client.log();
    EXPECT_TRUE(server.wait_for("stream opened", 5s)) << server.log();
    expect_clean_exit(server, SIGTERM);
}

INSTANTIATE_TEST_SUITE_P(Settings, KcptunPairing, ::testing::ValuesIn(all_settings),
                         [](auto const& i) { return std::string(i.param.name); });

TEST(KcptunMismatch, OurClientWithAnotherKeyGivesUpWithAClearLine) {
    SKIP_WITHOUT_KCPTUN();
    target_server target(target_server::mode::echo);
    kcptun_server server(target.address(), {"--key", custom_key});
    ASSERT_TRUE(server.started()) << server.process.log();
    logged_process client({tunnel_path, "client", "-l", "127.0.0.1:0", "-r",
                           "127.0.0.1:" + std::to_string(server.port)});
    auto const local = client.listening_address();
    ASSERT_NE(local, "") << client.log();

    probe_connection c(port_of(local));
    c.send("hello");
    // kcptun-server drops every datagram without a reply: our client says why and ends the
    // session, which closes the connection instead of leaving it hanging.
    EXPECT_TRUE(client.wait_for("do --key and --crypt match", 15s)) << client.log();
    EXPECT_NE(c.wait_closed(10s), "open") << client.log();
    expect_clean_exit(client, SIGTERM);
}

TEST(KcptunMismatch, KcptunClientWithAnotherKeyIsReported) {
    SKIP_WITHOUT_KCPTUN();
    target_server target(target_server::mode::echo);
    logged_process server({tunnel_path, "server", "-l", "127.0.0.1:0", "-t", target.address()});
    auto const remote = server.listening_address();
    ASSERT_NE(remote, "") << server.log();
    logged_process client(
        {kcptun_client_path, "-l", "127.0.0.1:0", "-r", remote, "--key", custom_key});
    auto const local = client.listening_address();
    ASSERT_NE(local, "") << client.log();

    probe_connection c(port_of(local));
    c.send("hello");
    // kcptun's client hangs (its way); our server says what it sees.
    EXPECT_TRUE(server.wait_for("failed the checksum", 15s)) << server.log();
    EXPECT_TRUE(server.wait_for("another --key or --crypt", 1s)) << server.log();
    expect_clean_exit(server, SIGTERM);
}

}  // namespace
