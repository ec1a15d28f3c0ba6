// smux::kcp::compressed_stream over loopback TCP: its wire bytes, its errors, and a smux
// session pair carrying many streams and a checksummed multi-MiB transfer through it.

#include <gtest/gtest.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <smux/kcp/asio/compressed_stream.hpp>

#include <array>
#include <chrono>
#include <string>
#include <thread>

#include "support/asio_harness.hpp"

namespace {

using namespace smux_test;
using namespace asio::experimental::awaitable_operators;
using compressed_tcp = smux::kcp::compressed_stream<asio::ip::tcp::socket>;
using compressed_session = smux::basic_session<compressed_tcp>;

constexpr char const* identifier = "ff060000734e61507059";

/// Reads from a plain socket until `n` bytes arrived.
bytes read_raw(asio::io_context& ioc, asio::ip::tcp::socket& s, std::size_t n) {
    bytes got(n);
    capture<smux::error_code, std::size_t> r;
    asio::async_read(s, asio::buffer(got), r.handler());
    EXPECT_TRUE(run_until(ioc, r.ready()));
    EXPECT_FALSE(r.get<0>()) << r.get<0>().message();
    return got;
}

/// The error a compressed read ends with after the raw peer sent `wire` and closed.
smux::error_code read_end(std::string_view wire_hex) {
    asio::io_context ioc;
    auto [raw, other] = make_tcp_sockets(ioc);
    compressed_tcp s(std::move(other));
    bytes const wire = from_hex(wire_hex);
    asio::write(raw, asio::buffer(wire));
    raw.close();
    bytes buf(100);
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

TEST(compressed_stream, first_write_is_kcp_md_vector_f_and_reads_back) {
    asio::io_context ioc;
    auto [a, b] = make_tcp_sockets(ioc);
    compressed_tcp c(std::move(a));
    // A gather list, as the session writes a frame: header, then (empty) payload.
    bytes const syn = from_hex("01 00 0000 01000000");
    std::array<asio::const_buffer, 3> const parts{asio::buffer(syn.data(), 3), asio::const_buffer{},
                                                  asio::buffer(syn.data() + 3, 5)};
    capture<smux::error_code, std::size_t> w;
    c.async_write_some(parts, w.handler());
    EXPECT_FALSE(w.done) << "completed inside the initiating function";
    ASSERT_TRUE(run_until(ioc, w.ready()));
    EXPECT_FALSE(w.get<0>());
    EXPECT_EQ(w.get<1>(), syn.size());
    EXPECT_EQ(to_hex(read_raw(ioc, b, 26)), "ff060000734e61507059010c00007a1bad6c0100000001000000");

    // The other way: what a Go peer sends reads back as the frame.
    compressed_tcp d(std::move(b));
    asio::write(c.next_layer(), asio::buffer(from_hex(std::string(identifier) +
                                                      "010c00007a1bad6c0100000001000000")));
    bytes got(100);
    capture<smux::error_code, std::size_t> r;
    d.async_read_some(asio::buffer(got), r.handler());
    EXPECT_FALSE(r.done);
    ASSERT_TRUE(run_until(ioc, r.ready()));
    EXPECT_FALSE(r.get<0>());
    got.resize(r.get<1>());
    EXPECT_EQ(got, syn);
}

TEST(compressed_stream, empty_operations_complete_later_with_zero) {
    asio::io_context ioc;
    auto [a, b] = make_tcp_sockets(ioc);
    compressed_tcp c(std::move(a));
    capture<smux::error_code, std::size_t> w, r;
    c.async_write_some(asio::const_buffer{}, w.handler());
    c.async_read_some(asio::mutable_buffer{}, r.handler());
    EXPECT_FALSE(w.done || r.done);
    ASSERT_TRUE(run_until(ioc, [&] { return w.done && r.done; }));
    EXPECT_EQ(w.get<1>(), 0U);
    EXPECT_EQ(r.get<1>(), 0U);
    EXPECT_EQ(b.available(), 0U);  // not even the identifier
}

TEST(compressed_stream, reports_framing_errors_and_truncation) {
    EXPECT_EQ(read_end("010c00007a1bad6c0100000001000000"),
              smux::kcp::snappy_error::missing_identifier);
    EXPECT_EQ(read_end(std::string(identifier) + "010c00007a1bad6c01000000010000ff"),
              smux::kcp::snappy_error::checksum_mismatch);
    EXPECT_EQ(read_end(std::string(identifier) + "010c00007a1bad6c010000"),
              smux::kcp::snappy_error::truncated_stream);
    EXPECT_EQ(read_end(std::string(identifier) + "010c00007a1bad6c0100000001000000"),
              asio::error::eof);  // a clean end between chunks
}

/// Waits (bounded, without sleeping) until the kernel holds `n` bytes for `s` to read.
bool wait_available(asio::ip::tcp::socket& s, std::size_t n) {
    auto const deadline = clock::now() + watchdog_limit;
    while (s.available() < n && clock::now() < deadline) {
        std::this_thread::yield();
    }
    return s.available() == n;
}

TEST(compressed_stream, cancelled_read_loses_no_bytes) {
    asio::io_context ioc;
    auto [a, b] = make_tcp_sockets(ioc);
    compressed_tcp c(std::move(a));
    // Half of the first chunk is there when the read starts; it takes it and waits for more.
    asio::write(b, asio::buffer(from_hex(std::string(identifier) + "010c00007a1b")));
    ASSERT_TRUE(wait_available(c.next_layer(), 16));
    bytes buf(64);
    asio::cancellation_signal cancel;
    capture<smux::error_code, std::size_t> r1;
    c.async_read_some(asio::buffer(buf), asio::bind_cancellation_slot(cancel.slot(), r1.handler()));
    run_ready(ioc);
    EXPECT_EQ(c.next_layer().available(), 0U);
    EXPECT_FALSE(r1.done);
    cancel.emit(asio::cancellation_type::total);
    ASSERT_TRUE(run_until(ioc, r1.ready()));
    EXPECT_EQ(r1.get<0>(), asio::error::operation_aborted);
    asio::write(b, asio::buffer(from_hex("ad6c0100000001000000")));
    capture<smux::error_code, std::size_t> r2;
    c.async_read_some(asio::buffer(buf), r2.handler());
    ASSERT_TRUE(run_until(ioc, r2.ready()));
    EXPECT_FALSE(r2.get<0>()) << r2.get<0>().message();
    EXPECT_EQ(to_hex(std::span(buf).first(r2.get<1>())), "0100000001000000");
}

session_pair<compressed_tcp> make_compressed_pair(asio::io_context& ioc, smux::config const& cfg) {
    auto [c, s] = make_tcp_sockets(ioc);
    return {compressed_session(smux::role::client, compressed_tcp(std::move(c)), cfg),
            compressed_session(smux::role::server, compressed_tcp(std::move(s)), cfg)};
}

class compressed_session_test : public ::testing::TestWithParam<int> {};

TEST_P(compressed_session_test, many_streams_echo) {
    asio::io_context ioc;
    auto p = make_compressed_pair(ioc, make_config(GetParam()));
    constexpr int count = 64;
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
            auto const n = 1000 + 997 * static_cast<std::size_t>(i);
            bytes const data = i % 2 == 0 ? bytes(n, std::byte{'x'})
                                          : random_bytes(n, 300 + static_cast<std::uint64_t>(i));
            auto writer = [&]() -> asio::awaitable<void> {
                co_await asio::async_write(s, asio::buffer(data), asio::use_awaitable);
                s.shutdown_send();
            };
            auto [ec, got] = co_await (writer() && read_to_end(s));
            EXPECT_EQ(ec, asio::error::eof);
            EXPECT_EQ(first_difference(got, data), -1) << "stream " << s.id();
            verified += ec == asio::error::eof && got == data ? 1 : 0;
        });
    }
    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
    EXPECT_EQ(verified, count);
}

/// Writes `total` bytes (compressible and random halves alternating) and returns their FNV-1a.
asio::awaitable<std::uint64_t> send_pattern(smux::stream& s, std::size_t total) {
    std::uint64_t h = fnv_offset;
    for (std::size_t at = 0, i = 0; at < total; ++i) {
        std::size_t const n = std::min<std::size_t>(total - at, 100000 + 7919 * (i % 13));
        bytes const block = i % 2 == 0 ? bytes(n, static_cast<std::byte>(i))
                                       : random_bytes(n, 1000 + static_cast<std::uint64_t>(i));
        h = fnv1a(h, block);
        co_await asio::async_write(s, asio::buffer(block), asio::use_awaitable);
        at += n;
    }
    s.shutdown_send();
    co_return h;
}

asio::awaitable<std::pair<std::size_t, std::uint64_t>> receive_checksum(smux::stream& s) {
    std::uint64_t h = fnv_offset;
    std::size_t total = 0;
    bytes buf(40000);
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), as_tuple_awaitable);
        h = fnv1a(h, std::span(buf).first(n));
        total += n;
        if (ec == asio::error::eof) {
            co_return std::pair(total, h);
        }
        if (ec) {
            throw std::system_error(ec, "receive");
        }
    }
}

TEST_P(compressed_session_test, checksummed_multi_mib_transfer_both_ways) {
    asio::io_context ioc;
    auto p = make_compressed_pair(ioc, make_config(GetParam()));
    std::size_t const total = sanitized_build ? 6 * 1024 * 1024 : 24 * 1024 * 1024;
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto [c, s] = co_await open_pair(p.client, p.server);
        auto [sent_c, got_s, sent_s, got_c] =
            co_await (send_pattern(c, total) && receive_checksum(s) && send_pattern(s, total / 2) &&
                      receive_checksum(c));
        EXPECT_EQ(got_s.first, total);
        EXPECT_EQ(got_s.second, sent_c);
        EXPECT_EQ(got_c.first, total / 2);
        EXPECT_EQ(got_c.second, sent_s);
    });
    ASSERT_TRUE(tasks.wait(ioc, heavy_watchdog_limit));
}

TEST_P(compressed_session_test, session_ends_with_the_framing_error) {
    asio::io_context ioc;
    auto [raw, s] = make_tcp_sockets(ioc);
    compressed_session server(smux::role::server, compressed_tcp(std::move(s)),
                              make_config(GetParam()));
    capture<smux::error_code> end;
    server.async_wait_closed(end.handler());
    // An uncompressed smux SYN, as a kcptun peer run with --nocomp would send.
    asio::write(raw, asio::buffer(from_hex("01 00 0000 01000000")));
    ASSERT_TRUE(run_until(ioc, end.ready()));
    EXPECT_EQ(end.get<0>(), smux::kcp::snappy_error::missing_identifier) << end.get<0>().message();
    EXPECT_EQ(end.get<0>(), smux::condition::session_terminated);  // "is the session over?"
    EXPECT_FALSE(server.is_open());
}

INSTANTIATE_TEST_SUITE_P(versions, compressed_session_test, ::testing::Values(1, 2), version_name);

}  // namespace
