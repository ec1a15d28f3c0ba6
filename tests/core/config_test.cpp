// Config validation: Go's VerifyConfig rules plus the checks Go misses, each message naming
// the field and its limit.

#include <gtest/gtest.h>

#include <smux/config.hpp>

namespace {

using namespace std::chrono_literals;

TEST(config, defaults_are_gos_defaults_and_valid) {
    smux::config const c;
    EXPECT_EQ(c.version, 1);
    EXPECT_FALSE(c.keep_alive_disabled);
    EXPECT_EQ(c.keep_alive_interval, 10s);
    EXPECT_EQ(c.keep_alive_timeout, 30s);
    EXPECT_EQ(c.max_frame_size, 32768);
    EXPECT_EQ(c.max_receive_buffer, 4194304);
    EXPECT_EQ(c.max_stream_buffer, 65536);
    EXPECT_EQ(c.accept_backlog, 1024);
    EXPECT_EQ(smux::validate(c), "");
}

struct rejection {
    char const* field;
    void (*mutate)(smux::config&);
};

class rejected : public ::testing::TestWithParam<rejection> {};

TEST_P(rejected, message_names_the_field) {
    smux::config c;
    GetParam().mutate(c);
    auto const message = smux::validate(c);
    EXPECT_NE(message.find(GetParam().field), std::string::npos) << message;
    EXPECT_THROW((void)smux::config_builder(c).build(), smux::config_error);
}

INSTANTIATE_TEST_SUITE_P(
    go_rules_and_more, rejected,
    ::testing::Values(
        rejection{"version", [](smux::config& c) { c.version = 0; }},
        rejection{"version", [](smux::config& c) { c.version = 3; }},
        rejection{"keep_alive_interval", [](smux::config& c) { c.keep_alive_interval = 0ms; }},
        rejection{"keep_alive_interval", [](smux::config& c) { c.keep_alive_interval = -5ms; }},
        rejection{"keep_alive_timeout", [](smux::config& c) { c.keep_alive_timeout = 9s; }},
        rejection{"max_frame_size", [](smux::config& c) { c.max_frame_size = 0; }},
        rejection{"max_frame_size", [](smux::config& c) { c.max_frame_size = 65536; }},
        rejection{"max_receive_buffer", [](smux::config& c) { c.max_receive_buffer = 0; }},
        rejection{"max_receive_buffer",
                  [](smux::config& c) { c.max_receive_buffer = 2147483648LL; }},
        rejection{"max_stream_buffer", [](smux::config& c) { c.max_stream_buffer = 0; }},
        rejection{"max_stream_buffer", [](smux::config& c) { c.max_stream_buffer = -1; }},
        rejection{"max_stream_buffer",
                  [](smux::config& c) { c.max_stream_buffer = c.max_receive_buffer + 1; }},
        rejection{"accept_backlog", [](smux::config& c) { c.accept_backlog = 0; }},
        rejection{"max_streams", [](smux::config& c) { c.max_streams = 0; }}));

TEST(config, limits_that_go_accepts_are_accepted) {
    smux::config c;
    c.max_frame_size = 65535;
    c.max_stream_buffer = c.max_receive_buffer;    // equal is allowed
    c.keep_alive_timeout = c.keep_alive_interval;  // equal is allowed
    EXPECT_EQ(smux::validate(c), "");
    c.max_receive_buffer = 2147483647;
    EXPECT_EQ(smux::validate(c), "");
}

TEST(config, disabled_keepalive_skips_interval_checks) {
    smux::config c;
    c.keep_alive_disabled = true;
    c.keep_alive_interval = 0ms;
    c.keep_alive_timeout = 0ms;
    EXPECT_EQ(smux::validate(c), "");
}

TEST(config, builder_sets_every_field) {
    auto const c = smux::config_builder{}
                       .version(2)
                       .keep_alive(false)
                       .keep_alive_interval(1s)
                       .keep_alive_timeout(2s)
                       .max_frame_size(1000)
                       .max_receive_buffer(1 << 20)
                       .max_stream_buffer(1 << 16)
                       .accept_backlog(8)
                       .max_streams(100)
                       .build();
    EXPECT_EQ(c.version, 2);
    EXPECT_TRUE(c.keep_alive_disabled);
    EXPECT_EQ(c.keep_alive_interval, 1s);
    EXPECT_EQ(c.keep_alive_timeout, 2s);
    EXPECT_EQ(c.max_frame_size, 1000);
    EXPECT_EQ(c.max_receive_buffer, 1 << 20);
    EXPECT_EQ(c.max_stream_buffer, 1 << 16);
    EXPECT_EQ(c.accept_backlog, 8);
    EXPECT_EQ(c.max_streams, 100);
}

TEST(config, error_message_names_the_limit) {
    smux::config c;
    c.max_frame_size = 70000;
    auto const m = smux::validate(c);
    EXPECT_NE(m.find("65535"), std::string::npos) << m;
    EXPECT_NE(m.find("70000"), std::string::npos) << m;
}

}  // namespace
