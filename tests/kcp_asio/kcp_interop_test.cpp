// kcp-go + smux (Go) against kcp::stream + smux::basic_session, each direction.

#include <asio/detached.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <smux/session.hpp>
#include <thread>

#include "kcp_asio/kcp_test_support.hpp"
#include "support/child_process.hpp"

namespace {

using namespace kcp_asio_test;
using asio::awaitable;
using asio::use_awaitable;
using kcp_session = smux::basic_session<smux::kcp::stream>;

constexpr std::size_t transfer_bytes = 4 << 20;

/// kcppeer's pattern.
std::byte go_pattern(std::size_t i) {
    return static_cast<std::byte>((i * 7 + (i >> 11)) & 0xff);
}

smux::config go_compatible() {
    smux::config cfg;  // smux.DefaultConfig: v1, keep-alive 10 s / 30 s
    cfg.version = 1;
    return cfg;
}

/// kcptun's default (aes, FEC 10/3) and the barest (crypt header in clear, no FEC).
struct setting {
    char const* crypt;
    char const* data;
    char const* parity;
};

class KcpInterop : public ::testing::TestWithParam<setting> {
  protected:
    static smux::kcp::options opts() {
        auto const& p = GetParam();
        return test_options(p.crypt, std::stoul(p.data), std::stoul(p.parity));
    }
    static std::vector<std::string> go_args(char const* role) {
        auto const& p = GetParam();
        return {SMUX_KCP_GO_PEER, role, p.crypt, p.data, p.parity};
    }
};

INSTANTIATE_TEST_SUITE_P(Settings, KcpInterop,
                         ::testing::Values(setting{"aes", "10", "3"}, setting{"none", "0", "0"}),
                         [](auto const& i) { return std::string(i.param.crypt); });

TEST_P(KcpInterop, GoClientCppServer) {
    asio::io_context ioc;
    smux::kcp::listener l(ioc.get_executor(), loopback(), opts());
    std::optional<kcp_session> server;
    l.async_accept([&](smux::error_code ec, smux::kcp::stream s) {
        ASSERT_FALSE(ec);
        server.emplace(smux::role::server, std::move(s), go_compatible());
        server->async_accept_stream([](smux::error_code e, smux::stream st) {
            ASSERT_FALSE(e);
            auto s2 = std::make_shared<smux::stream>(std::move(st));
            asio::co_spawn(
                s2->get_executor(),
                [s2]() -> awaitable<void> {
                    std::array<char, 16384> buf{};
                    for (;;) {
                        auto [ec2, n] =
                            co_await s2->async_read_some(asio::buffer(buf), as_tuple_awaitable);
                        if (ec2) {
                            co_return;
                        }
                        co_await asio::async_write(*s2, asio::buffer(buf.data(), n), use_awaitable);
                    }
                },
                asio::detached);
        });
    });
    auto work = asio::make_work_guard(ioc);
    std::thread runner([&] { ioc.run_for(120s); });
    auto args = go_args("client");
    args.push_back(std::to_string(l.local_endpoint().port()));
    args.push_back(std::to_string(transfer_bytes));
    smux_child::child_process go(args);
    EXPECT_EQ(go.read_line(std::chrono::milliseconds(100000)).value_or("timeout"), "ok");
    EXPECT_EQ(go.wait(std::chrono::milliseconds(10000)).value_or(-1), 0);
    work.reset();
    asio::post(l.get_executor(), [&] {
        if (server) {
            server->close();
        }
        l.close();
    });
    ioc.stop();
    runner.join();
}

TEST_P(KcpInterop, CppClientGoServer) {
    smux_child::child_process go(go_args("server"));
    auto const addr = go.read_line(std::chrono::milliseconds(10000));
    ASSERT_TRUE(addr);
    auto const port = static_cast<std::uint16_t>(std::stoi(addr->substr(addr->rfind(':') + 1)));
    asio::io_context ioc;
    auto c = connected_client(ioc, {asio::ip::make_address("127.0.0.1"), port}, opts());
    kcp_session session(smux::role::client, std::move(c), go_compatible());
    task_group g;
    g.spawn(ioc, [&]() -> awaitable<void> {
        auto s = co_await session.async_open_stream(use_awaitable);
        std::vector<std::byte> out(transfer_bytes);
        for (std::size_t i = 0; i < out.size(); ++i) {
            out[i] = go_pattern(i);
        }
        std::vector<std::byte> back(transfer_bytes);
        asio::co_spawn(
            ioc,
            [&]() -> awaitable<void> {
                co_await asio::async_write(s, asio::buffer(out), use_awaitable);
            },
            asio::detached);
        co_await asio::async_read(s, asio::buffer(back), use_awaitable);
        EXPECT_TRUE(back == out);
    });
    EXPECT_TRUE(g.wait(ioc, heavy_watchdog_limit));
    session.close();
    run_ready(ioc);
}

}  // namespace
