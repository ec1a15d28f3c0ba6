#ifndef SMUX_TESTS_TUNNEL_TUNNEL_TEST_SUPPORT_HPP
#define SMUX_TESTS_TUNNEL_TUNNEL_TEST_SUPPORT_HPP

// Paths of the programs under test (set by CMakeLists.txt) and small helpers shared by the
// smux-tunnel tests.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <string>
#include <vector>

#include "tunnel/logged_process.hpp"

#ifndef SMUX_TUNNEL_PATH
#error "SMUX_TUNNEL_PATH: the smux-tunnel binary"
#endif
#ifndef SMUX_KCPTUN_CLIENT
#define SMUX_KCPTUN_CLIENT ""
#endif
#ifndef SMUX_KCPTUN_SERVER
#define SMUX_KCPTUN_SERVER ""
#endif

namespace tunnel_test {

inline std::string const tunnel_path = SMUX_TUNNEL_PATH;
inline std::string const kcptun_client_path = SMUX_KCPTUN_CLIENT;
inline std::string const kcptun_server_path = SMUX_KCPTUN_SERVER;

inline bool have_kcptun() {
    return !kcptun_client_path.empty() && !kcptun_server_path.empty() &&
           ::access(kcptun_client_path.c_str(), X_OK) == 0 &&
           ::access(kcptun_server_path.c_str(), X_OK) == 0;
}

#define SKIP_WITHOUT_KCPTUN()                                                            \
    if (!::tunnel_test::have_kcptun()) {                                                 \
        GTEST_SKIP() << "kcptun is not installed (Debian: apt-get install kcptun, as "   \
                        "scripts/install-deps.sh does): the kcptun pairings cannot run"; \
    }

/// `base` followed by `more`.
inline std::vector<std::string> args(std::vector<std::string> base,
                                     std::vector<std::string> const& more) {
    base.insert(base.end(), more.begin(), more.end());
    return base;
}

/// The port of "host:port".
inline unsigned short port_of(std::string const& address) {
    auto const colon = address.rfind(':');
    return colon == std::string::npos
               ? 0
               : static_cast<unsigned short>(std::stoul(address.substr(colon + 1)));
}

/// A UDP port free now on 127.0.0.1, for kcptun-server, which logs the address it was given
/// rather than the one it bound (so port 0 cannot be used with it).
inline unsigned short free_udp_port() {
    asio::io_context ioc;
    asio::ip::udp::socket s(ioc, {asio::ip::make_address_v4("127.0.0.1"), 0});
    return s.local_endpoint().port();
}

inline std::string joined(std::vector<std::string> const& lines) {
    std::string out;
    for (auto const& l : lines) {
        out += l + "\n";
    }
    return out;
}

/// Stops `p` with `sig` and expects exit status 0 within 10 s (smux-tunnel's clean exit).
inline void expect_clean_exit(logged_process& p, int sig) {
    auto const status = p.stop(sig, 10s);
    ASSERT_TRUE(status.has_value()) << "still running 10 s after signal " << sig << "\n" << p.log();
    EXPECT_EQ(*status, 0) << p.log();
}

}  // namespace tunnel_test

#endif
