// TLS both ways round: asio::ssl::stream<smux::stream> runs a verified TLS session inside one
// smux stream, and a smux session runs over asio::ssl::stream<tcp::socket>.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <span>
#include <vector>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ssl/stream.hpp>
#include <smux/ssl.hpp>

#include "support/asio_harness.hpp"
#include "support/asio_tls.hpp"

namespace {

using namespace smux_test;
using namespace asio::experimental::awaitable_operators;

class tls : public ::testing::TestWithParam<int> {
  protected:
    static void SetUpTestSuite() {
        identity_ = std::make_unique<tls_identity>(make_self_signed_identity());
    }
    static void TearDownTestSuite() { identity_.reset(); }
    static tls_identity const& identity() { return *identity_; }

  private:
    static inline std::unique_ptr<tls_identity> identity_;
};

asio::awaitable<bytes> read_exactly_tls(asio::ssl::stream<smux::stream>& s, std::size_t n) {
    bytes got(n);
    co_await asio::async_read(s, asio::buffer(got), asio::use_awaitable);
    co_return got;
}

/// Echoes decrypted bytes until the client's close_notify, then answers it.
asio::awaitable<std::size_t> tls_echo(asio::ssl::stream<smux::stream>& tls_stream) {
    std::size_t total = 0;
    bytes buf(16384);
    for (;;) {
        auto [ec, n] = co_await tls_stream.async_read_some(asio::buffer(buf), as_tuple_awaitable);
        if (n > 0) {
            co_await asio::async_write(tls_stream, asio::buffer(buf.data(), n),
                                       asio::use_awaitable);
            total += n;
        }
        if (ec == asio::error::eof) {
            break;
        }
        if (ec) {
            throw std::system_error(ec, "TLS echo read");
        }
    }
    co_await tls_stream.async_shutdown(asio::use_awaitable);
    co_return total;
}

TEST_P(tls, handshake_and_echo_inside_one_smux_stream) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    auto server_ctx = make_server_context(identity());
    auto client_ctx = make_client_context(identity());
    bytes const data = random_bytes(300000, 101);
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto c_s = co_await open_pair(p.client, p.server);
        smux::stream& c = c_s.first;
        smux::stream& s = c_s.second;
        // A plain stream next to the TLS one keeps working.
        auto plain_c_plain_s = co_await open_pair(p.client, p.server);
        smux::stream& plain_c = plain_c_plain_s.first;
        smux::stream& plain_s = plain_c_plain_s.second;
        asio::ssl::stream<smux::stream> client_tls(std::move(c), client_ctx);
        asio::ssl::stream<smux::stream> server_tls(std::move(s), server_ctx);
        client_tls.set_verify_callback(asio::ssl::host_name_verification("localhost"));
        co_await (client_tls.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable) &&
                  server_tls.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable));
        EXPECT_TRUE(client_tls.next_layer().is_open());

        auto client = [&]() -> asio::awaitable<bytes> {
            auto [wrote, echoed] =
                co_await (asio::async_write(client_tls, asio::buffer(data), asio::use_awaitable) &&
                          read_exactly_tls(client_tls, data.size()));
            EXPECT_EQ(wrote, data.size());
            co_await client_tls.async_shutdown(asio::use_awaitable);
            co_return echoed;
        };
        auto [echoed, total] = co_await (client() && tls_echo(server_tls));
        EXPECT_EQ(total, data.size());
        EXPECT_EQ(first_difference(echoed, data), -1);

        std::string const text = "plain";
        co_await asio::async_write(plain_c, asio::buffer(text), asio::use_awaitable);
        auto [ec, got] = co_await read_exactly(plain_s, text.size());
        EXPECT_FALSE(ec);
        EXPECT_EQ(to_string(got), text);
    });
    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
    // The smux session carried ciphertext: more than the payload each way.
    EXPECT_GT(p.client.stats().bytes_sent, data.size());
    EXPECT_GT(p.server.stats().bytes_sent, data.size());
}

TEST_P(tls, handshake_inside_a_stream_rejects_a_wrong_host_name) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    auto server_ctx = make_server_context(identity());
    auto client_ctx = make_client_context(identity());
    smux::error_code client_ec, server_ec;
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto c_s = co_await open_pair(p.client, p.server);
        smux::stream& c = c_s.first;
        smux::stream& s = c_s.second;
        asio::ssl::stream<smux::stream> client_tls(std::move(c), client_ctx);
        asio::ssl::stream<smux::stream> server_tls(std::move(s), server_ctx);
        client_tls.set_verify_callback(asio::ssl::host_name_verification("example.org"));
        auto client = [&]() -> asio::awaitable<void> {
            auto [ec] = co_await client_tls.async_handshake(asio::ssl::stream_base::client,
                                                            as_tuple_awaitable);
            client_ec = ec;
            client_tls.next_layer().close();  // the server's handshake sees the end
        };
        auto server = [&]() -> asio::awaitable<void> {
            auto [ec] = co_await server_tls.async_handshake(asio::ssl::stream_base::server,
                                                            as_tuple_awaitable);
            server_ec = ec;
        };
        co_await (client() && server());
    });
    ASSERT_TRUE(tasks.wait(ioc));
    EXPECT_TRUE(client_ec) << "the client accepted a certificate for another host";
    EXPECT_TRUE(server_ec);
    EXPECT_TRUE(p.client.is_open());
}

TEST_P(tls, session_over_tls_over_loopback_tcp) {
    asio::io_context ioc;
    auto server_ctx = make_server_context(identity());
    auto client_ctx = make_client_context(identity());
    auto [cs, ss] = make_tcp_sockets(ioc);
    asio::ssl::stream<asio::ip::tcp::socket> client_tls(std::move(cs), client_ctx);
    asio::ssl::stream<asio::ip::tcp::socket> server_tls(std::move(ss), server_ctx);
    client_tls.set_verify_callback(asio::ssl::host_name_verification("localhost"));
    capture<smux::error_code> client_hs, server_hs;
    client_tls.async_handshake(asio::ssl::stream_base::client, client_hs.handler());
    server_tls.async_handshake(asio::ssl::stream_base::server, server_hs.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return client_hs.done && server_hs.done; }));
    ASSERT_FALSE(client_hs.get<0>()) << client_hs.get<0>().message();
    ASSERT_FALSE(server_hs.get<0>()) << server_hs.get<0>().message();

    smux::config const cfg = make_config(GetParam());
    session_pair<asio::ssl::stream<asio::ip::tcp::socket>> p{
        smux::ssl_session<>(smux::role::client, std::move(client_tls), cfg),
        smux::ssl_session<>(smux::role::server, std::move(server_tls), cfg)};

    constexpr int count = 20;
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        for (int i = 0; i < count; ++i) {
            smux::stream s = co_await p.server.async_accept_stream(asio::use_awaitable);
            tasks.spawn(ioc, [s = std::move(s)]() mutable -> asio::awaitable<void> {
                co_await echo_until_eof(s);
            });
        }
    });
    int verified = 0;
    for (int i = 0; i < count; ++i) {
        tasks.spawn(ioc, [&, i]() -> asio::awaitable<void> {
            smux::stream s = co_await p.client.async_open_stream(asio::use_awaitable);
            bytes const data = random_bytes(50000 + 5000 * static_cast<std::size_t>(i),
                                            110 + static_cast<std::uint64_t>(i));
            auto writer = [&]() -> asio::awaitable<void> {
                co_await asio::async_write(s, asio::buffer(data), asio::use_awaitable);
                s.shutdown_send();
            };
            auto [ec, got] = co_await (writer() && read_to_end(s));
            EXPECT_EQ(ec, asio::error::eof);
            EXPECT_EQ(first_difference(got, data), -1) << "stream " << s.id();
            if (ec == asio::error::eof && got == data) {
                ++verified;
            }
        });
    }
    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
    EXPECT_EQ(verified, count);

    // Closing the client closes the TCP connection under TLS; the server's session ends with
    // the error its TLS stream reports.
    capture<smux::error_code> client_end, server_end;
    p.client.async_wait_closed(client_end.handler());
    p.server.async_wait_closed(server_end.handler());
    p.client.close();
    ASSERT_TRUE(run_until(ioc, [&] { return client_end.done && server_end.done; }));
    EXPECT_EQ(client_end.get<0>(), smux::error::session_closed) << client_end.get<0>().message();
    EXPECT_TRUE(server_end.get<0>()) << server_end.get<0>().message();
    EXPECT_NE(server_end.get<0>(), smux::error::session_closed);
    // Whatever the TLS stream reported, it is a session's end to generic checks.
    EXPECT_EQ(server_end.get<0>(), smux::condition::session_terminated)
        << server_end.get<0>().message();
    EXPECT_EQ(p.server.terminal_error(), std::optional(server_end.get<0>()));
    EXPECT_FALSE(p.server.is_open());
    EXPECT_FALSE(p.client.is_open());
}

/// A TLS connection over loopback TCP, handshake done: one end for a smux session, the other
/// a plain OpenSSL stream (asio::ssl::stream) standing for a peer that checks how TLS ends.
struct tls_link {
    asio::ssl::stream<asio::ip::tcp::socket> session_side;
    asio::ssl::stream<asio::ip::tcp::socket> raw_side;
};

::testing::AssertionResult connect_tls(asio::io_context& ioc, asio::ssl::context& client_ctx,
                                       asio::ssl::context& server_ctx, bool session_is_client,
                                       std::optional<tls_link>& out) {
    auto [cs, ss] = make_tcp_sockets(ioc);
    asio::ssl::stream<asio::ip::tcp::socket> client_tls(std::move(cs), client_ctx);
    asio::ssl::stream<asio::ip::tcp::socket> server_tls(std::move(ss), server_ctx);
    capture<smux::error_code> client_hs, server_hs;
    client_tls.async_handshake(asio::ssl::stream_base::client, client_hs.handler());
    server_tls.async_handshake(asio::ssl::stream_base::server, server_hs.handler());
    auto r = run_until(ioc, [&] { return client_hs.done && server_hs.done; });
    if (!r) {
        return r;
    }
    if (client_hs.get<0>() || server_hs.get<0>()) {
        return ::testing::AssertionFailure() << "handshake: " << client_hs.get<0>().message()
                                             << " / " << server_hs.get<0>().message();
    }
    if (session_is_client) {
        out.emplace(tls_link{std::move(client_tls), std::move(server_tls)});
    } else {
        out.emplace(tls_link{std::move(server_tls), std::move(client_tls)});
    }
    return ::testing::AssertionSuccess();
}

/// What the raw TLS peer's read ends with once the session's side is gone.
smux::error_code raw_read_end(asio::io_context& ioc, asio::ssl::stream<asio::ip::tcp::socket>& s) {
    bytes buf(4096);
    for (;;) {
        capture<smux::error_code, std::size_t> r;
        s.async_read_some(asio::buffer(buf), r.handler());
        if (!run_until(ioc, r.ready())) {
            return make_error_code(asio::error::timed_out);
        }
        if (r.get<0>()) {
            return r.get<0>();
        }
    }
}

/// A smux session on one end of a TLS connection, a raw OpenSSL stream on the other.
class tls_end : public ::testing::TestWithParam<bool> {
  protected:
    ::testing::AssertionResult start() {
        bool const session_is_client = GetParam();
        auto r = connect_tls(ioc, client_ctx, server_ctx, session_is_client, link);
        if (r) {
            session.emplace(session_is_client ? smux::role::client : smux::role::server,
                            std::move(link->session_side), quiet_config(2));
        }
        return r;
    }

    asio::io_context ioc;
    tls_identity const id = make_self_signed_identity();
    asio::ssl::context server_ctx = make_server_context(id);
    asio::ssl::context client_ctx = make_client_context(id);
    std::optional<tls_link> link;
    std::optional<smux::ssl_session<>> session;
};

TEST_P(tls_end, a_graceful_shutdown_sends_close_notify) {
    ASSERT_TRUE(start());
    capture<smux::error_code> shut;
    session->async_shutdown(shut.handler());
    // The raw peer sees a clean TLS end (close_notify: end of file), not a truncation.
    EXPECT_EQ(raw_read_end(ioc, link->raw_side), asio::error::eof);
    ASSERT_TRUE(run_until(ioc, shut.ready()));
    EXPECT_FALSE(shut.get<0>()) << shut.get<0>().message();
    // The peer answers with its own close_notify; the session's transport then closes.
    capture<smux::error_code> answered;
    link->raw_side.async_shutdown(answered.handler());
    ASSERT_TRUE(run_until(ioc, answered.ready()));
    capture<smux::error_code> ended;
    session->async_wait_closed(ended.handler());
    ASSERT_TRUE(run_until(ioc, ended.ready()));
    EXPECT_EQ(ended.get<0>(), smux::error::session_closed);
}

TEST_P(tls_end, an_abortive_close_ends_the_connection_at_once) {
    ASSERT_TRUE(start());
    session->close();
    // No close_notify promised: the peer's read ends with an error, whichever it is.
    EXPECT_TRUE(raw_read_end(ioc, link->raw_side));
}

INSTANTIATE_TEST_SUITE_P(both_roles, tls_end, ::testing::Bool(), [](auto const& param_info) {
    return param_info.param ? "client" : "server";
});

INSTANTIATE_TEST_SUITE_P(versions, tls, ::testing::Values(1, 2), version_name);

/// The lengths of the TLS records in a byte stream fed in pieces (RFC 8446 §5.1: a 5-byte
/// header, its last two bytes the length of what follows).
struct tls_record_scanner {
    std::vector<std::size_t> application_data;  ///< lengths of content type 23 records
    std::array<std::uint8_t, 5> header{};
    std::size_t header_got = 0;
    std::size_t body_left = 0;

    void feed(std::span<std::byte const> in) {
        for (std::size_t i = 0; i < in.size();) {
            if (body_left > 0) {
                std::size_t const skip = std::min(body_left, in.size() - i);
                body_left -= skip;
                i += skip;
                continue;
            }
            header[header_got++] = static_cast<std::uint8_t>(in[i++]);
            if (header_got == header.size()) {
                header_got = 0;
                body_left = (std::size_t{header[3]} << 8U) | header[4];
                if (header[0] == 23) {
                    application_data.push_back(body_left);
                }
            }
        }
    }
};

/// Copies `from` to `to` until `from` ends, showing every byte to `scanner` on the way.
asio::awaitable<void> relay(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to,
                            tls_record_scanner* scanner) {
    bytes buf(65536);
    for (;;) {
        auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), as_tuple_awaitable);
        if (n > 0) {
            if (scanner != nullptr) {
                scanner->feed(std::span<std::byte const>(buf.data(), n));
            }
            co_await asio::async_write(to, asio::buffer(buf.data(), n), asio::use_awaitable);
        }
        if (ec) {
            asio::error_code ignored;
            to.shutdown(asio::socket_base::shutdown_send, ignored);
            co_return;
        }
    }
}

// A session's batch is 8-byte frame headers between payloads; Asio's ssl::stream encrypts one
// buffer per write, so unless the session gathers them, bulk data leaves in 8 KiB records
// (twice the records, and per-record costs, for the same bytes). TLS allows 16 KiB.
TEST_P(tls, bulk_data_leaves_in_full_tls_records) {
    asio::io_context ioc;
    auto server_ctx = make_server_context(identity());
    auto client_ctx = make_client_context(identity());
    // Not structured bindings: clang 14 cannot capture those in the relays' lambdas.
    auto client_link = make_tcp_sockets(ioc);
    auto server_link = make_tcp_sockets(ioc);
    asio::ip::tcp::socket& relay_in = client_link.second;
    asio::ip::tcp::socket& relay_out = server_link.first;
    tls_record_scanner client_records;
    task_group relays;
    relays.spawn(ioc, [&]() -> asio::awaitable<void> {
        co_await relay(relay_in, relay_out, &client_records);
    });
    relays.spawn(ioc,
                 [&]() -> asio::awaitable<void> { co_await relay(relay_out, relay_in, nullptr); });
    asio::ssl::stream<asio::ip::tcp::socket> client_tls(std::move(client_link.first), client_ctx);
    asio::ssl::stream<asio::ip::tcp::socket> server_tls(std::move(server_link.second), server_ctx);
    capture<smux::error_code> client_hs, server_hs;
    client_tls.async_handshake(asio::ssl::stream_base::client, client_hs.handler());
    server_tls.async_handshake(asio::ssl::stream_base::server, server_hs.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return client_hs.done && server_hs.done; }));
    ASSERT_FALSE(client_hs.get<0>()) << client_hs.get<0>().message();
    ASSERT_FALSE(server_hs.get<0>()) << server_hs.get<0>().message();
    smux::config const cfg = make_config(GetParam());
    session_pair<asio::ssl::stream<asio::ip::tcp::socket>> p{
        smux::ssl_session<>(smux::role::client, std::move(client_tls), cfg),
        smux::ssl_session<>(smux::role::server, std::move(server_tls), cfg)};

    bytes const data = random_bytes(std::size_t{1} << 20U, 120);
    task_group tasks;
    bytes got;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        smux::stream s = co_await p.server.async_accept_stream(asio::use_awaitable);
        auto [ec, all] = co_await read_to_end(s);
        EXPECT_EQ(ec, asio::error::eof);
        got = std::move(all);
    });
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        smux::stream s = co_await p.client.async_open_stream(asio::use_awaitable);
        co_await asio::async_write(s, asio::buffer(data), asio::use_awaitable);
        s.shutdown_send();
    });
    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
    EXPECT_EQ(first_difference(got, data), -1);
    p.client.close();
    p.server.close();
    ASSERT_TRUE(relays.wait(ioc));

    // Most records are full: their median carries at least 16 KiB of data (a record's length
    // also counts the cipher's overhead).
    std::vector<std::size_t> sizes = client_records.application_data;
    ASSERT_GE(sizes.size(), data.size() / 16384);
    std::nth_element(sizes.begin(), sizes.begin() + static_cast<std::ptrdiff_t>(sizes.size() / 2),
                     sizes.end());
    EXPECT_GE(sizes[sizes.size() / 2], 16384U) << "of " << sizes.size() << " records";
}

TEST(tls_errors, every_tls_error_matches_session_terminated) {
    smux::error_code const truncated = asio::ssl::error::stream_truncated;
    EXPECT_EQ(truncated, smux::condition::session_terminated) << truncated.message();
    smux::error_code const openssl(1, asio::error::get_ssl_category());
    EXPECT_EQ(openssl, smux::condition::session_terminated) << openssl.message();
    EXPECT_NE(openssl, smux::condition::protocol_violation);
}

}  // namespace
