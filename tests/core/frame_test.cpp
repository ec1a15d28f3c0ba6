// Frame codec against the byte vectors of docs/protocol.md §12 (emitted by the Go reference).

#include <gtest/gtest.h>

#include <smux/core/frame.hpp>
#include <string>
#include <vector>

#include "support/wire.hpp"

namespace {

using smux::core::command;
using smux::core::frame_header;
using smux::core::window_update;
using smux_wire::from_hex;

struct header_vector {
    char const* name;
    char const* hex;
    frame_header header;
};

class header_vectors : public ::testing::TestWithParam<header_vector> {};

TEST_P(header_vectors, encode_and_decode_match_go) {
    auto const& v = GetParam();
    auto const bytes = from_hex(v.hex);
    ASSERT_EQ(bytes.size(), smux::core::header_size);
    auto const encoded = smux::core::encode_header(v.header);
    EXPECT_EQ(std::vector<std::byte>(encoded.begin(), encoded.end()), bytes);
    EXPECT_EQ(smux::core::decode_header(std::span<std::byte const, 8>(bytes.data(), 8)), v.header);
    EXPECT_FALSE(smux::core::validate_header(v.header, v.header.version));
}

INSTANTIATE_TEST_SUITE_P(
    protocol_md, header_vectors,
    ::testing::Values(header_vector{"V1", "01 00 0000 03000000", {1, command::syn, 0, 3}},
                      header_vector{"V2", "01 02 0500 03000000", {1, command::psh, 5, 3}},
                      header_vector{"V4", "01 03 0000 00000000", {1, command::nop, 0, 0}},
                      header_vector{"V5", "01 01 0000 03000000", {1, command::fin, 0, 3}},
                      header_vector{"V6", "01 00 0000 02000000", {1, command::syn, 0, 2}},
                      header_vector{"V7", "01 00 0000 05000000", {1, command::syn, 0, 5}},
                      header_vector{"V8", "01 00 0000 ffffffff", {1, command::syn, 0, 0xFFFFFFFFU}},
                      header_vector{"V9", "01 00 0000 feffffff", {1, command::syn, 0, 0xFFFFFFFEU}},
                      header_vector{"V10", "01 02 ffff 03000000", {1, command::psh, 65535, 3}},
                      header_vector{"V11", "01 02 7111 03000000", {1, command::psh, 4465, 3}},
                      header_vector{"V12", "02 00 0000 03000000", {2, command::syn, 0, 3}},
                      header_vector{"V13", "02 02 0500 03000000", {2, command::psh, 5, 3}},
                      header_vector{"V14", "02 04 0800 03000000", {2, command::upd, 8, 3}},
                      header_vector{"V17", "02 03 0000 00000000", {2, command::nop, 0, 0}},
                      header_vector{"V18", "02 01 0000 03000000", {2, command::fin, 0, 3}}),
    [](auto const& param_info) { return std::string(param_info.param.name); });

TEST(window_update_vectors, match_go) {
    struct {
        char const* hex;
        window_update u;
    } const cases[] = {
        {"05000000 00000100", {5, 65536}},     // V14
        {"0a000000 00001000", {10, 1048576}},  // V15
        {"10000000 40000000", {16, 64}},       // V16 (consumed after wrap)
    };
    for (auto const& c : cases) {
        auto const bytes = from_hex(c.hex);
        std::array<std::byte, 8> out{};
        smux::core::encode_update(c.u, out);
        EXPECT_EQ(std::vector<std::byte>(out.begin(), out.end()), bytes) << c.hex;
        EXPECT_EQ(smux::core::decode_update(std::span<std::byte const, 8>(bytes.data(), 8)), c.u);
    }
}

TEST(validate_header, negative_vectors_of_protocol_md) {
    using smux::error;
    auto decode = [](char const* hex) {
        auto b = from_hex(hex);
        return smux::core::decode_header(std::span<std::byte const, 8>(b.data(), 8));
    };
    EXPECT_EQ(smux::core::validate_header(decode("02 00 0000 03000000"), 1),
              error::invalid_version);
    EXPECT_EQ(smux::core::validate_header(decode("01 05 0000 03000000"), 1),
              error::unknown_command);
    EXPECT_EQ(smux::core::validate_header(decode("01 04 0800 03000000"), 1),
              error::unexpected_update);
    EXPECT_EQ(smux::core::validate_header(decode("01 00 0800 03000000"), 1),
              error::invalid_frame_length);
    EXPECT_EQ(smux::core::validate_header(decode("02 04 0400 03000000"), 2),
              error::invalid_frame_length);
    EXPECT_EQ(smux::core::validate_header(decode("01 01 0100 03000000"), 1),
              error::invalid_frame_length);
    EXPECT_EQ(smux::core::validate_header(decode("01 03 0100 00000000"), 1),
              error::invalid_frame_length);
    // PSH longer than any max_frame_size this side may use is still accepted (Go does).
    EXPECT_FALSE(smux::core::validate_header(decode("01 02 ffff 03000000"), 1));
    EXPECT_TRUE(smux::core::validate_header(decode("01 02 0000 03000000"), 1) ==
                smux::error_code{});
}

TEST(errors, protocol_errors_share_a_condition) {
    using smux::condition;
    using smux::error;
    for (auto e : {error::invalid_version, error::unknown_command, error::unexpected_update,
                   error::invalid_frame_length, error::invalid_stream_id, error::window_overrun,
                   error::invalid_window_update}) {
        smux::error_code const ec = e;
        EXPECT_EQ(ec, condition::protocol_violation) << ec.message();
        EXPECT_EQ(ec, condition::session_terminated) << ec.message();  // each ends the session
        EXPECT_EQ(std::string(ec.category().name()), "smux");
        EXPECT_NE(ec.message().find("invalid protocol"), std::string::npos);
    }
    for (auto e : {error::keepalive_timeout, error::session_closed, error::connection_closed}) {
        smux::error_code const ec = e;
        EXPECT_EQ(ec, condition::session_terminated) << ec.message();
        EXPECT_NE(ec, condition::protocol_violation);
    }
    EXPECT_NE(smux::error_code(error::stream_closed), condition::session_terminated);
}

TEST(errors, connection_errors_a_session_ends_with_match_session_terminated) {
    using smux::condition;
    for (auto e :
         {std::errc::connection_reset, std::errc::connection_aborted, std::errc::broken_pipe,
          std::errc::not_connected, std::errc::network_down, std::errc::network_reset,
          std::errc::network_unreachable, std::errc::host_unreachable, std::errc::timed_out,
          std::errc::connection_refused}) {
        std::error_code const system(static_cast<int>(e), std::system_category());
        EXPECT_EQ(system, condition::session_terminated) << system.message();
        EXPECT_NE(system, condition::protocol_violation) << system.message();
    }
    // What does not end a session does not match: a stream's end of data, a cancellation, an
    // operation's own timeout, a refused operation.
    EXPECT_NE(std::make_error_code(std::errc::operation_canceled), condition::session_terminated);
    EXPECT_NE(std::make_error_code(std::errc::resource_unavailable_try_again),
              condition::session_terminated);
    for (auto e : {smux::error::read_timeout, smux::error::write_timeout,
                   smux::error::stream_closed, smux::error::broken_pipe,
                   smux::error::operation_in_progress, smux::error::not_on_strand}) {
        smux::error_code const ec = e;
        EXPECT_NE(ec, condition::session_terminated) << ec.message();
    }
}

TEST(errors, every_timeout_names_what_timed_out) {
    using smux::error;
    smux::error_code const read = error::read_timeout;
    smux::error_code const write = error::write_timeout;
    EXPECT_NE(read.message().find("stream_read_timeout"), std::string::npos) << read.message();
    EXPECT_NE(write.message().find("stream_write_timeout"), std::string::npos) << write.message();
    EXPECT_NE(smux::error_code(error::keepalive_timeout).message().find("keep-alive"),
              std::string::npos);
    // Both are timeouts to generic code, and neither ends the session.
    EXPECT_EQ(read, std::errc::timed_out);
    EXPECT_EQ(write, std::errc::timed_out);
    EXPECT_NE(read, smux::condition::session_terminated);
    EXPECT_NE(write, smux::condition::session_terminated);
}

}  // namespace
