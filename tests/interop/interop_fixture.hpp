// The parameterised fixture of both pairings: the parameter is the protocol version, and
// every failure message carries "[PAIRING vN, scenario NAME]".

#ifndef SMUX_TESTS_INTEROP_FIXTURE_HPP
#define SMUX_TESTS_INTEROP_FIXTURE_HPP

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>

#include "interop_support.hpp"

namespace interop {

class interop_test : public ::testing::TestWithParam<int> {
  protected:
    [[nodiscard]] virtual char const* pairing() const = 0;

    void SetUp() override {
        context_ = std::string("[") + pairing() + " v" + std::to_string(GetParam()) +
                   ", scenario " + ::testing::UnitTest::GetInstance()->current_test_info()->name() +
                   "]";
        trace_.emplace(__FILE__, __LINE__, context_);
    }

    [[nodiscard]] int version() const { return GetParam(); }
    [[nodiscard]] int other_version() const { return GetParam() == 1 ? 2 : 1; }
    [[nodiscard]] std::string const& context() const { return context_; }

    /// The defaults of both libraries, with this test's protocol version.
    [[nodiscard]] smux::config base_config() const {
        smux::config c;
        c.version = version();
        return c;
    }

    /// Short keep-alive: keepalive_interval and keepalive_timeout (interop_support.hpp).
    [[nodiscard]] smux::config keepalive_config() const {
        smux::config c = base_config();
        c.keep_alive_interval = keepalive_interval;
        c.keep_alive_timeout = keepalive_timeout;
        return c;
    }

  private:
    std::string context_;
    std::optional<::testing::ScopedTrace> trace_;
};

inline std::string version_name(::testing::TestParamInfo<int> const& info) {
    return "v" + std::to_string(info.param);
}

/** Connects to `endpoint`, runs `body` on a client session under a watchdog, then closes the
    session. A timeout or an exception is reported as a test failure naming `context`. */
void run_cpp_client(std::string const& context, asio::ip::tcp::endpoint const& endpoint,
                    smux::config const& cfg, milliseconds watchdog,
                    std::function<asio::awaitable<void>(smux::tcp_session&)> const& body);

}  // namespace interop

#endif
