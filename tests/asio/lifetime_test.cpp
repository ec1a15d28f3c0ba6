// The io_context is destroyed while a coroutine that owns the sessions is suspended in a
// session operation: the coroutine frame (and with it the sessions) must be destroyed, nothing
// may leak (the ASan build's LeakSanitizer checks the memory at exit).

#include <gtest/gtest.h>

#include <asio/detached.hpp>
#include <memory>
#include <ostream>

#include "support/asio_harness.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define SMUX_TEST_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SMUX_TEST_LSAN 1
#endif
#endif
#if defined(SMUX_TEST_LSAN)
#include <sanitizer/lsan_interface.h>
#endif

namespace {

/// True when LeakSanitizer finds unreachable memory now (always false without it).
bool leaks_now() {
#if defined(SMUX_TEST_LSAN)
    return __lsan_do_recoverable_leak_check() != 0;
#else
    return false;
#endif
}

using namespace smux_test;

enum class suspend_in { read, accept, wait_closed, window_write };

struct lifetime_case {
    int version;
    suspend_in where;
};

void PrintTo(lifetime_case const& c, std::ostream* os) {
    static char const* const names[] = {"read", "accept", "wait_closed", "window_write"};
    *os << names[static_cast<int>(c.where)] << " v" << c.version;
}

std::string case_name(::testing::TestParamInfo<lifetime_case> const& info) {
    static char const* const names[] = {"read", "accept", "wait_closed", "window_write"};
    return std::string(names[static_cast<int>(info.param.where)]) + "_v" +
           std::to_string(info.param.version);
}

/// Sets its flag when destroyed: proves that a coroutine frame went away.
struct destroy_flag {
    bool* flag;
    explicit destroy_flag(bool* f) : flag(f) {}
    destroy_flag(destroy_flag const&) = delete;
    destroy_flag& operator=(destroy_flag const&) = delete;
    ~destroy_flag() { *flag = true; }
};

/// Owns both sessions and suspends in the chosen operation, which never completes.
template <class NextLayer>
asio::awaitable<void> suspend_forever(smux::basic_session<NextLayer> client,
                                      smux::basic_session<NextLayer> server, suspend_in where,
                                      bool* suspended, bool* destroyed) {
    destroy_flag guard(destroyed);
    smux::stream c = co_await client.async_open_stream(asio::use_awaitable);
    smux::stream s = co_await server.async_accept_stream(asio::use_awaitable);
    std::array<char, 16> buf{};
    bytes const data(300000, std::byte{7});
    *suspended = true;
    switch (where) {
        case suspend_in::read:
            co_await s.async_read_some(asio::buffer(buf), asio::use_awaitable);
            break;
        case suspend_in::accept:
            co_await server.async_accept_stream(asio::use_awaitable);
            break;
        case suspend_in::wait_closed:
            co_await client.async_wait_closed(asio::use_awaitable);
            break;
        case suspend_in::window_write:  // version 2: blocks after v2_initial_window bytes
            co_await asio::async_write(c, asio::buffer(data), asio::use_awaitable);
            break;
    }
    ADD_FAILURE() << "the operation completed";
}

class context_destroyed : public ::testing::TestWithParam<lifetime_case> {};

TEST_P(context_destroyed, while_suspended_over_a_socketpair) {
    auto const [version, where] = GetParam();
    bool const leaked_before = leaks_now();
    bool suspended = false;
    bool destroyed = false;
    auto ioc = std::make_unique<asio::io_context>();
    {
        auto p = make_local_pair(*ioc, make_config(version));
        asio::co_spawn(*ioc,
                       suspend_forever(std::move(p.client), std::move(p.server), where, &suspended,
                                       &destroyed),
                       asio::detached);
    }
    ASSERT_TRUE(run_until(*ioc, [&] { return suspended; }));
    run_ready(*ioc);  // the operation reaches the session's strand
    EXPECT_FALSE(destroyed);
    ioc.reset();
    EXPECT_TRUE(destroyed) << "the suspended coroutine (and the sessions it owns) leaked";
    if (!leaked_before) {
        EXPECT_FALSE(leaks_now()) << "memory is unreachable after the io_context was destroyed";
    }
}

TEST_P(context_destroyed, while_suspended_over_the_duplex_stream) {
    auto const [version, where] = GetParam();
    bool const leaked_before = leaks_now();
    bool suspended = false;
    bool destroyed = false;
    auto ioc = std::make_unique<asio::io_context>();
    {
        auto p = make_duplex_pair(*ioc, make_config(version));
        asio::co_spawn(*ioc,
                       suspend_forever(std::move(p.client), std::move(p.server), where, &suspended,
                                       &destroyed),
                       asio::detached);
    }
    ASSERT_TRUE(run_until(*ioc, [&] { return suspended; }));
    run_ready(*ioc);
    EXPECT_FALSE(destroyed);
    ioc.reset();
    EXPECT_TRUE(destroyed) << "the suspended coroutine (and the sessions it owns) leaked";
    if (!leaked_before) {
        EXPECT_FALSE(leaks_now()) << "memory is unreachable after the io_context was destroyed";
    }
}

INSTANTIATE_TEST_SUITE_P(operations, context_destroyed,
                         ::testing::Values(lifetime_case{1, suspend_in::read},
                                           lifetime_case{2, suspend_in::read},
                                           lifetime_case{1, suspend_in::accept},
                                           lifetime_case{2, suspend_in::accept},
                                           lifetime_case{1, suspend_in::wait_closed},
                                           lifetime_case{2, suspend_in::wait_closed},
                                           lifetime_case{2, suspend_in::window_write}),
                         case_name);

}  // namespace
