// A raw peer on the other end of a socketpair sends bytes the protocol forbids: the session
// ends with the matching error, completes every pending operation and closes the connection.

#include <gtest/gtest.h>

#include <ostream>

#include "support/asio_harness.hpp"

namespace {

using namespace smux_test;

using io_result = capture<smux::error_code, std::size_t>;

struct violation {
    std::string name;
    int version;
    bytes frames;  ///< sent after the session's SYN for stream 3 was read
    smux::error expected;
};

void PrintTo(violation const& v, std::ostream* os) {
    *os << v.name;
}

/// More PSH payload on stream 3 than the v2 initial window allows.
bytes window_overrun_frames() {
    static_assert(5 * 65'535 > v2_initial_window);
    bytes out;
    for (int i = 0; i < 5; ++i) {
        auto f = with_payload(header(2, 2, 65535, 3), 65535, static_cast<std::uint8_t>(i));
        out.insert(out.end(), f.begin(), f.end());
    }
    return out;
}

std::vector<violation> violations() {
    std::vector<violation> v;
    for (int ver : {1, 2}) {
        std::string const tag = "_v" + std::to_string(ver);
        v.push_back({"version_9" + tag, ver, header(9, 3, 0, 0), smux::error::invalid_version});
        v.push_back(
            {"other_version" + tag, ver, header(3 - ver, 3, 0, 0), smux::error::invalid_version});
        v.push_back(
            {"unknown_command" + tag, ver, header(ver, 5, 0, 3), smux::error::unknown_command});
        v.push_back({"syn_with_payload" + tag, ver, with_payload(header(ver, 0, 8, 2), 8),
                     smux::error::invalid_frame_length});
        v.push_back({"nop_with_payload" + tag, ver, with_payload(header(ver, 3, 1, 0), 1),
                     smux::error::invalid_frame_length});
        v.push_back({"fin_with_payload" + tag, ver, with_payload(header(ver, 1, 4, 3), 4),
                     smux::error::invalid_frame_length});
        v.push_back({"syn_with_the_client_parity" + tag, ver, header(ver, 0, 0, 5),
                     smux::error::invalid_stream_id});
        v.push_back(
            {"syn_with_id_zero" + tag, ver, header(ver, 0, 0, 0), smux::error::invalid_stream_id});
    }
    v.push_back({"update_in_version_1", 1, with_payload(header(1, 4, 8, 3), 8),
                 smux::error::unexpected_update});
    v.push_back({"short_update", 2, with_payload(header(2, 4, 4, 3), 4),
                 smux::error::invalid_frame_length});
    v.push_back({"window_overrun", 2, window_overrun_frames(), smux::error::window_overrun});
    v.push_back({"update_acknowledging_unsent_bytes", 2,
                 cat({header(2, 4, 8, 3), le32(100), le32(65536)}),
                 smux::error::invalid_window_update});
    return v;
}

class protocol_violation : public ::testing::TestWithParam<violation> {};

TEST_P(protocol_violation, ends_the_session_and_completes_every_pending_operation) {
    violation const& v = GetParam();
    asio::io_context ioc;
    asio::local::stream_protocol::socket a(ioc), raw(ioc);
    asio::local::connect_pair(a, raw);
    smux::local_session client(smux::role::client, std::move(a), quiet_config(v.version));

    capture<smux::error_code, smux::stream> opened;
    client.async_open_stream(opened.handler());
    std::array<std::byte, 8> syn{};
    io_result syn_read;
    asio::async_read(raw, asio::buffer(syn), syn_read.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return opened.done && syn_read.done; }));
    ASSERT_FALSE(opened.get<0>());
    ASSERT_FALSE(syn_read.get<0>());
    bytes const expected_syn = header(v.version, 0, 0, 3);
    EXPECT_TRUE(std::equal(syn.begin(), syn.end(), expected_syn.begin()));
    smux::stream& c = opened.get<1>();

    std::array<char, 16> buf{};
    io_result read;
    c.async_read_some(asio::buffer(buf), read.handler());
    capture<smux::error_code, smux::stream> accept;
    client.async_accept_stream(accept.handler());
    capture<smux::error_code> wait;
    client.async_wait_closed(wait.handler());
    run_ready(ioc);
    ASSERT_FALSE(read.done || accept.done || wait.done);

    io_result sent;
    asio::async_write(raw, asio::buffer(v.frames), sent.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return read.done && accept.done && wait.done; }));

    smux::error_code const expected = v.expected;
    EXPECT_EQ(wait.get<0>(), expected) << wait.get<0>().message();
    EXPECT_TRUE(wait.get<0>() == smux::condition::protocol_violation);
    EXPECT_TRUE(wait.get<0>() == smux::condition::session_terminated);  // it ended the session
    EXPECT_EQ(accept.get<0>(), expected) << accept.get<0>().message();
    if (v.expected == smux::error::window_overrun) {
        // The bytes that fit in the window stay readable before the error.
        EXPECT_FALSE(read.get<0>()) << read.get<0>().message();
        EXPECT_GT(read.get<1>(), 0U);
    } else {
        EXPECT_EQ(read.get<0>(), expected) << read.get<0>().message();
        EXPECT_EQ(read.get<1>(), 0U);
    }
    EXPECT_FALSE(client.is_open());

    // The session closed the connection: the raw peer reads end of file (or a reset, when
    // the session closed with bytes of ours still unread).
    std::vector<std::uint8_t> rest;
    io_result drained;
    asio::async_read(raw, asio::dynamic_buffer(rest), drained.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return drained.done && sent.done; }));
    EXPECT_TRUE(drained.get<0>() == asio::error::eof ||
                drained.get<0>() == asio::error::connection_reset)
        << drained.get<0>().message();
}

INSTANTIATE_TEST_SUITE_P(frames, protocol_violation, ::testing::ValuesIn(violations()),
                         [](::testing::TestParamInfo<violation> const& i) { return i.param.name; });

TEST(protocol, frames_on_the_wire_match_the_go_reference_vectors) {
    // A raw peer reads what a version 1 client session sends: SYN 3 (V1), PSH "hello" (V2),
    // FIN (V5); then it sends PSH "world" (V3) and FIN, which the stream reads.
    asio::io_context ioc;
    asio::local::stream_protocol::socket a(ioc), raw(ioc);
    asio::local::connect_pair(a, raw);
    smux::local_session client(smux::role::client, std::move(a), quiet_config(1));
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        smux::stream s = co_await client.async_open_stream(asio::use_awaitable);
        std::string const hello = "hello";
        co_await asio::async_write(s, asio::buffer(hello), asio::use_awaitable);
        s.shutdown_send();
        bytes wire(8 + 13 + 8);
        co_await asio::async_read(raw, asio::buffer(wire), asio::use_awaitable);
        bytes const expect =
            cat({header(1, 0, 0, 3), header(1, 2, 5, 3), to_bytes("hello"), header(1, 1, 0, 3)});
        EXPECT_EQ(wire, expect);
        bytes const reply = cat({header(1, 2, 5, 3), to_bytes("world"), header(1, 1, 0, 3)});
        co_await asio::async_write(raw, asio::buffer(reply), asio::use_awaitable);
        auto [ec, got] = co_await read_to_end(s);
        EXPECT_EQ(ec, asio::error::eof);
        EXPECT_EQ(to_string(got), "world");
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

TEST(protocol, version_2_reader_sends_the_window_update_of_the_go_reference) {
    // V13 then V14: after its application read "hello", a version 2 server answers with
    // UPD consumed 5, window 65536.
    asio::io_context ioc;
    asio::local::stream_protocol::socket raw(ioc), b(ioc);
    asio::local::connect_pair(raw, b);
    smux::local_session server(smux::role::server, std::move(b), quiet_config(2));
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        bytes const open_and_push =
            cat({header(2, 0, 0, 3), header(2, 2, 5, 3), to_bytes("hello")});
        co_await asio::async_write(raw, asio::buffer(open_and_push), asio::use_awaitable);
        smux::stream s = co_await server.async_accept_stream(asio::use_awaitable);
        EXPECT_EQ(s.id(), 3U);
        std::array<char, 16> buf{};
        std::size_t const n = co_await s.async_read_some(asio::buffer(buf), asio::use_awaitable);
        EXPECT_EQ(std::string(buf.data(), n), "hello");
        bytes upd(16);
        co_await asio::async_read(raw, asio::buffer(upd), asio::use_awaitable);
        EXPECT_EQ(upd, cat({header(2, 4, 8, 3), le32(5), le32(65536)}));
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

}  // namespace

namespace {

using namespace smux_test;

class version_mismatch : public ::testing::TestWithParam<int> {};

// A session whose peer's first frame has another version answers with one frame of its own
// version before closing: the peer then fails with invalid_version too, not with a bare
// "connection closed by the peer".
TEST_P(version_mismatch, both_sides_end_with_invalid_version) {
    int const client_version = GetParam();
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(client_version), quiet_config(3 - client_version));
    capture<smux::error_code> client_end;
    capture<smux::error_code> server_end;
    p.client.async_wait_closed(client_end.handler());
    p.server.async_wait_closed(server_end.handler());
    capture<smux::error_code, smux::stream> opened;
    p.client.async_open_stream(opened.handler());  // its SYN is the first frame either sees
    ASSERT_TRUE(run_until(ioc, [&] { return client_end.done && server_end.done; }));
    EXPECT_EQ(server_end.get<0>(), smux::error::invalid_version) << server_end.get<0>().message();
    EXPECT_EQ(client_end.get<0>(), smux::error::invalid_version) << client_end.get<0>().message();
}

INSTANTIATE_TEST_SUITE_P(client_versions, version_mismatch, ::testing::Values(1, 2), version_name);

}  // namespace
