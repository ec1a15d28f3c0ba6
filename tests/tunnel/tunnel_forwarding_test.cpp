// smux-tunnel against itself: bulk echo, --conn, a half-close carried both ways, many idle
// connections that forward again later, a target that resets or refuses a connection (that
// connection ends, the others go on), --quiet, and a clean exit on SIGTERM and SIGINT with
// connections still open.

#include "tunnel/tcp_peers.hpp"
#include "tunnel/tunnel_test_support.hpp"

namespace {

using namespace tunnel_test;

/// Our server and our client, both with `flags` (the client with `client_flags` too), in
/// front of `target`.
struct tunnel_pair {
    tunnel_pair(std::string const& target, std::vector<std::string> const& flags,
                std::vector<std::string> const& client_flags = {})
        : server(args({tunnel_path, "server", "-l", "127.0.0.1:0", "-t", target}, flags)),
          client(
              args({tunnel_path, "client", "-l", "127.0.0.1:0", "-r", server.listening_address()},
                   args(flags, client_flags))),
          local_port(port_of(client.listening_address())) {}

    std::string logs() { return client.log() + server.log(); }

    logged_process server;
    logged_process client;
    unsigned short local_port;
};

TEST(TunnelPair, BulkEchoAtDefaults) {
    target_server target(target_server::mode::echo);
    tunnel_pair t(target.address(), {});
    ASSERT_NE(t.local_port, 0) << t.logs();
    auto const failures = echo_through(t.local_port, 4, 2 << 20, 60s);
    EXPECT_TRUE(failures.empty()) << joined(failures) << t.logs();
    expect_clean_exit(t.client, SIGTERM);
    expect_clean_exit(t.server, SIGTERM);
}

TEST(TunnelPair, ConnSpreadsConnectionsOverSessions) {
    // kcptun's --conn: connection i goes to session i mod N, each its own conversation.
    target_server target(target_server::mode::echo);
    tunnel_pair t(target.address(), {"--mode", "fast3"}, {"--conn", "3"});
    ASSERT_NE(t.local_port, 0) << t.logs();
    auto const failures = echo_through(t.local_port, 6, 256 << 10, 30s);
    EXPECT_TRUE(failures.empty()) << joined(failures) << t.logs();
    auto const log = t.client.log();
    std::size_t sessions = 0;
    for (auto at = log.find("on connection: "); at != std::string::npos;
         at = log.find("on connection: ", at + 1)) {
        ++sessions;
    }
    EXPECT_EQ(sessions, 3U) << log;
    expect_clean_exit(t.client, SIGTERM);
    expect_clean_exit(t.server, SIGTERM);
}

TEST(TunnelPair, HalfCloseReachesTheTargetAndTheReplyComesBack) {
    // The target answers only after its end of file: the client's shutdown(write) crossed
    // both tunnels as FIN, and the answer still came back on the half-open connection.
    target_server target(target_server::mode::reply_after_eof);
    tunnel_pair t(target.address(), {"--mode", "fast3", "--quiet"});
    ASSERT_NE(t.local_port, 0) << t.logs();
    auto const failures = half_close_through(t.local_port, 3, 1 << 20, 30s);
    EXPECT_TRUE(failures.empty()) << joined(failures) << t.logs();
    expect_clean_exit(t.client, SIGTERM);
    expect_clean_exit(t.server, SIGTERM);
    // --quiet hides the stream lines, as in kcptun.
    EXPECT_EQ(t.client.log().find("stream opened"), std::string::npos) << t.client.log();
    EXPECT_EQ(t.server.log().find("stream closed"), std::string::npos) << t.server.log();
}

TEST(TunnelPair, ManyIdleConnectionsStayOpenAndForwardAgainLater) {
    // Each connection carries a message, then idles while all the others do the same; every
    // one must still carry bytes afterwards, both ways, and its half-close too. The status
    // lines count the idle connections on both ends, then none once they all ended.
    constexpr int count = 200;
    std::string const all_idle = "streams " + std::to_string(count) + ",";
    target_server target(target_server::mode::echo);
    tunnel_pair t(target.address(), {"--mode", "fast3", "--quiet", "--status-interval", "1"});
    ASSERT_NE(t.local_port, 0) << t.logs();
    connection_group conns(t.local_port, count);
    auto failures = conns.echo_each("first", 30s);
    EXPECT_TRUE(failures.empty()) << joined(failures) << t.logs();
    EXPECT_TRUE(t.client.wait_for(all_idle, 10s)) << t.logs();
    EXPECT_TRUE(t.server.wait_for(all_idle, 10s)) << t.logs();

    failures = conns.echo_each("second", 30s);
    EXPECT_TRUE(failures.empty()) << joined(failures) << t.logs();
    std::size_t const client_mark = t.client.log_size();
    std::size_t const server_mark = t.server.log_size();
    failures = conns.half_close_each(30s);
    EXPECT_TRUE(failures.empty()) << joined(failures) << t.logs();
    EXPECT_TRUE(t.client.wait_for("streams 0,", 10s, client_mark)) << t.logs();
    EXPECT_TRUE(t.server.wait_for("streams 0,", 10s, server_mark)) << t.logs();
    expect_clean_exit(t.client, SIGTERM);
    expect_clean_exit(t.server, SIGTERM);
}

TEST(TunnelPair, ResetOrRefusingTargetEndsOnlyThatConnection) {
    target_server target(target_server::mode::echo);
    tunnel_pair t(target.address(), {"--mode", "fast3"});
    ASSERT_NE(t.local_port, 0) << t.logs();
    probe_connection steady(t.local_port);
    ASSERT_EQ(steady.exchange("steady 1", 10s), "steady 1") << t.logs();

    probe_connection reset(t.local_port);
    reset.send("RESET please");
    EXPECT_NE(reset.wait_closed(10s), "open") << t.logs();
    EXPECT_EQ(steady.exchange("steady 2", 10s), "steady 2") << t.logs();

    target.stop_listening();
    probe_connection refused(t.local_port);
    refused.send("anyone?");
    EXPECT_NE(refused.wait_closed(10s), "open") << t.logs();
    EXPECT_TRUE(t.server.wait_for("refused", 5s)) << t.logs();
    EXPECT_EQ(steady.exchange("steady 3", 10s), "steady 3") << t.logs();

    // Without --quiet, the stream lines are there.
    EXPECT_TRUE(t.client.wait_for("stream opened in: 127.0.0.1:", 5s)) << t.logs();
    EXPECT_TRUE(t.server.wait_for("stream closed in: ", 5s)) << t.logs();
    // `steady` is still open: the exit must not wait for it.
    expect_clean_exit(t.client, SIGINT);
    expect_clean_exit(t.server, SIGTERM);
    EXPECT_NE(steady.wait_closed(5s), "open");
}

}  // namespace
