// smux-tunnel against itself over --transport tcp and tls: bulk echo, a half-close carried
// both ways, and for TLS a certificate that does not verify (another CA, another name)
// refused with a line saying what failed, on both sides; the client dialling again when its
// server comes back.

#include <optional>

#include "tunnel/tcp_peers.hpp"
#include "tunnel/test_certificates.hpp"
#include "tunnel/tunnel_test_support.hpp"

namespace {

using namespace tunnel_test;

#define SKIP_WITHOUT_OPENSSL()                                                       \
    if (openssl_path.empty()) {                                                      \
        GTEST_SKIP() << "the openssl command is not installed: no certificates for " \
                        "the TLS tests (scripts/install-deps.sh installs it)";       \
    }

/// Our server and our client over one transport, in front of `target`.
struct stream_pair {
    stream_pair(std::string const& target, std::vector<std::string> const& server_flags,
                std::vector<std::string> const& client_flags)
        : server(args({tunnel_path, "server", "-l", "127.0.0.1:0", "-t", target}, server_flags)),
          client(
              args({tunnel_path, "client", "-l", "127.0.0.1:0", "-r", server.listening_address()},
                   client_flags)),
          local_port(port_of(client.listening_address())) {}

    std::string logs() { return client.log() + server.log(); }

    logged_process server;
    logged_process client;
    unsigned short local_port;
};

TEST(TcpTransport, BulkEcho) {
    target_server target(target_server::mode::echo);
    std::vector<std::string> const flags = {"--transport", "tcp"};
    stream_pair t(target.address(), flags, flags);
    ASSERT_NE(t.local_port, 0) << t.logs();
    auto const failures = echo_through(t.local_port, 4, 2 << 20, 60s);
    EXPECT_TRUE(failures.empty()) << joined(failures) << t.logs();
    EXPECT_TRUE(t.client.wait_for("on connection: tcp 127.0.0.1:", 5s)) << t.logs();
    expect_clean_exit(t.client, SIGTERM);
    expect_clean_exit(t.server, SIGTERM);
}

TEST(TcpTransport, HalfCloseBothWaysWithoutCompression) {
    // The target answers only after its end of file, then closes: the client's
    // shutdown(write) crossed as FIN, the answer came back, then the target's FIN.
    target_server target(target_server::mode::reply_after_eof);
    std::vector<std::string> const flags = {"--transport", "tcp", "--nocomp", "--smuxver", "2"};
    stream_pair t(target.address(), flags, flags);
    ASSERT_NE(t.local_port, 0) << t.logs();
    auto const failures = half_close_through(t.local_port, 3, 1 << 20, 30s);
    EXPECT_TRUE(failures.empty()) << joined(failures) << t.logs();
    expect_clean_exit(t.client, SIGTERM);
    expect_clean_exit(t.server, SIGTERM);
}

TEST(TcpTransport, ClientRedialsWhenTheServerComesBack) {
    // The server goes away and comes back on the same address: the client's session ends, a
    // connection arriving while no server listens makes it dial in vain and say so, and once
    // the server is back, connections are forwarded again over a new session.
    target_server target(target_server::mode::echo);
    std::vector<std::string> const flags = {"--transport", "tcp"};
    auto const server_args = [&](std::string const& listen) {
        return args({tunnel_path, "server", "-l", listen, "-t", target.address()}, flags);
    };
    std::optional<logged_process> server(std::in_place, server_args("127.0.0.1:0"));
    std::string const server_address = server->listening_address();
    ASSERT_FALSE(server_address.empty()) << server->log();
    logged_process client(
        args({tunnel_path, "client", "-l", "127.0.0.1:0", "-r", server_address}, flags));
    auto const local_port = port_of(client.listening_address());
    ASSERT_NE(local_port, 0) << client.log();
    auto failures = echo_through(local_port, 2, 256 << 10, 30s);
    ASSERT_TRUE(failures.empty()) << joined(failures) << client.log() << server->log();

    expect_clean_exit(*server, SIGTERM);
    server.reset();
    EXPECT_TRUE(client.wait_for(" ended: ", 10s)) << client.log();
    {
        probe_connection app(local_port);
        app.send("anyone?");
        EXPECT_TRUE(client.wait_for("ERROR re-connecting: ", 20s)) << client.log();
    }

    logged_process restarted(server_args(server_address));
    ASSERT_EQ(restarted.listening_address(), server_address) << restarted.log();
    failures = echo_through(local_port, 2, 256 << 10, 60s);
    EXPECT_TRUE(failures.empty()) << joined(failures) << client.log() << restarted.log();
    expect_clean_exit(client, SIGTERM);
    expect_clean_exit(restarted, SIGTERM);
}

/// The server's and the client's flags for TLS with `c`'s certificates.
std::vector<std::string> tls_server_flags(test_certificates const& c) {
    return {"--transport", "tls", "--tls-cert", c.cert, "--tls-key", c.key};
}
std::vector<std::string> tls_client_flags(std::string const& ca) {
    return {"--transport", "tls", "--tls-ca", ca};
}

TEST(TlsTransport, BulkEchoAndHalfClose) {
    SKIP_WITHOUT_OPENSSL();
    test_certificates certs;
    target_server echo(target_server::mode::echo);
    stream_pair t(echo.address(), tls_server_flags(certs), tls_client_flags(certs.ca));
    ASSERT_NE(t.local_port, 0) << t.logs();
    auto failures = echo_through(t.local_port, 4, 2 << 20, 60s);
    EXPECT_TRUE(failures.empty()) << joined(failures) << t.logs();
    EXPECT_TRUE(t.client.wait_for("on connection: tls 127.0.0.1:", 5s)) << t.logs();
    expect_clean_exit(t.client, SIGTERM);
    expect_clean_exit(t.server, SIGTERM);

    target_server reply(target_server::mode::reply_after_eof);
    stream_pair h(reply.address(), tls_server_flags(certs), tls_client_flags(certs.ca));
    ASSERT_NE(h.local_port, 0) << h.logs();
    failures = half_close_through(h.local_port, 3, 1 << 20, 30s);
    EXPECT_TRUE(failures.empty()) << joined(failures) << h.logs();
    expect_clean_exit(h.client, SIGTERM);
    expect_clean_exit(h.server, SIGTERM);
}

/// A connection to the client makes it dial; the dial must fail with `client_says`, the
/// server log `server_says`, and the connection carry nothing.
void expect_refused_certificate(stream_pair& t, std::string const& client_says,
                                std::string const& server_says) {
    ASSERT_NE(t.local_port, 0) << t.logs();
    probe_connection app(t.local_port);
    app.send("hello?");
    auto const line = t.client.wait_for(client_says, 20s);
    ASSERT_TRUE(line) << t.logs();
    EXPECT_NE(line->find("ERROR re-connecting: TLS handshake with 127.0.0.1:"), std::string::npos)
        << *line;
    EXPECT_TRUE(t.server.wait_for(server_says, 10s)) << t.logs();
    EXPECT_EQ(t.client.log().find("on connection: tls"), std::string::npos) << t.logs();
    // The connection waits for a session that cannot be: the exit must not wait for it.
    expect_clean_exit(t.client, SIGTERM);
    expect_clean_exit(t.server, SIGTERM);
}

TEST(TlsTransport, ServerCertificateOfAnotherCaIsRefused) {
    SKIP_WITHOUT_OPENSSL();
    test_certificates certs;
    target_server echo(target_server::mode::echo);
    stream_pair t(echo.address(), tls_server_flags(certs), tls_client_flags(certs.other_ca));
    expect_refused_certificate(t, "unable to get local issuer certificate", "unknown ca");
}

TEST(TlsTransport, ServerCertificateForAnotherNameIsRefused) {
    SKIP_WITHOUT_OPENSSL();
    test_certificates certs;
    target_server echo(target_server::mode::echo);
    std::vector<std::string> const server_flags = {"--transport", "tls",
                                                   "--tls-cert",  certs.wrong_name_cert,
                                                   "--tls-key",   certs.wrong_name_key};
    stream_pair t(echo.address(), server_flags, tls_client_flags(certs.ca));
    expect_refused_certificate(t, "IP address mismatch", "TLS handshake from 127.0.0.1:");
}

TEST(TlsTransport, ServerWithACaRequiresClientCertificates) {
    SKIP_WITHOUT_OPENSSL();
    test_certificates certs;
    target_server echo(target_server::mode::echo);
    auto server_flags = tls_server_flags(certs);
    server_flags.insert(server_flags.end(), {"--tls-ca", certs.ca});

    // A client with a certificate of that CA is served.
    auto with_cert = tls_client_flags(certs.ca);
    with_cert.insert(with_cert.end(), {"--tls-cert", certs.cert, "--tls-key", certs.key});
    stream_pair ok(echo.address(), server_flags, with_cert);
    ASSERT_NE(ok.local_port, 0) << ok.logs();
    auto const failures = echo_through(ok.local_port, 2, 256 << 10, 30s);
    EXPECT_TRUE(failures.empty()) << joined(failures) << ok.logs();
    expect_clean_exit(ok.client, SIGTERM);
    expect_clean_exit(ok.server, SIGTERM);

    // One without is refused by the server, which says why.
    stream_pair refused(echo.address(), server_flags, tls_client_flags(certs.ca));
    ASSERT_NE(refused.local_port, 0) << refused.logs();
    probe_connection app(refused.local_port);
    app.send("hello?");
    EXPECT_TRUE(refused.server.wait_for("peer did not return a certificate", 20s))
        << refused.logs();
    EXPECT_NE(app.wait_closed(20s), "open") << refused.logs();
    expect_clean_exit(refused.client, SIGTERM);
    expect_clean_exit(refused.server, SIGTERM);
}

}  // namespace
