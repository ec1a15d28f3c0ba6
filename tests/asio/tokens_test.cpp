// Completion tokens and the Asio idiom: callbacks (never invoked inside the initiating
// function), use_future with the loop on another thread, deferred, use_awaitable; associated
// executors and allocators; composed algorithms with buffer sequences; several threads.

#include <gtest/gtest.h>

#include <asio/bind_allocator.hpp>
#include <asio/bind_executor.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/strand.hpp>
#include <asio/use_future.hpp>
#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <type_traits>

#include "support/asio_harness.hpp"

namespace {

using namespace smux_test;
using namespace asio::experimental::awaitable_operators;

using io_result = capture<smux::error_code, std::size_t>;
using stream_result = capture<smux::error_code, smux::stream>;

/// Counts handlers invoked while an initiating function is still running.
struct inline_probe {
    bool initiating = false;
    int inline_calls = 0;
    int calls = 0;

    template <class Init>
    void start(Init&& init) {
        initiating = true;
        std::forward<Init>(init)();
        initiating = false;
    }

    template <class F>
    auto wrap(F f) {
        return [this, f = std::move(f)](auto&&... args) mutable {
            ++calls;
            if (initiating) {
                ++inline_calls;
            }
            f(std::forward<decltype(args)>(args)...);
        };
    }
};

class tokens : public ::testing::TestWithParam<int> {};

TEST_P(tokens, callbacks_are_never_invoked_inside_the_initiating_function) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(GetParam()));
    inline_probe probe;
    int done = 0;
    auto count = [&](auto&&...) { ++done; };

    // Operations that have their result at once still complete later: open, accept of a
    // stream already queued, a read of buffered data, an empty read, a second read.
    auto pair = open_pair_now(ioc, p.client, p.server);
    ASSERT_TRUE(pair);
    smux::stream& c = pair->first;
    smux::stream& s = pair->second;
    capture<smux::error_code, smux::stream> opened;
    probe.start([&] { p.client.async_open_stream(probe.wrap(opened.handler())); });
    ASSERT_TRUE(run_until(ioc, opened.ready()));
    smux::stream c2 = std::move(opened.get<1>());
    std::string const text = "buffered";
    io_result w;
    probe.start([&] { c.async_write_some(asio::buffer(text), probe.wrap(w.handler())); });
    ASSERT_TRUE(run_until(ioc, [&] {
        return w.done && p.server.stats().buffered_bytes == text.size() &&
               p.server.stats().streams_accepted == 2;
    }));

    stream_result accepted;
    probe.start([&] { p.server.async_accept_stream(probe.wrap(accepted.handler())); });
    EXPECT_FALSE(accepted.done);
    std::array<char, 16> buf{};
    io_result r;
    probe.start([&] { s.async_read_some(asio::buffer(buf), probe.wrap(r.handler())); });
    EXPECT_FALSE(r.done);
    io_result empty;
    probe.start([&] {
        s.async_read_some(asio::mutable_buffer(buf.data(), 0), probe.wrap(empty.handler()));
    });
    ASSERT_TRUE(run_until(ioc, [&] { return accepted.done && r.done && empty.done; }));
    EXPECT_FALSE(accepted.get<0>());
    EXPECT_EQ(accepted.get<1>().id(), c2.id());
    EXPECT_EQ(std::string(buf.data(), r.get<1>()), text);
    EXPECT_FALSE(empty.get<0>());
    EXPECT_EQ(empty.get<1>(), 0U);

    io_result first, second;
    probe.start([&] {
        s.async_read_some(asio::buffer(buf), probe.wrap(first.handler()));
        s.async_read_some(asio::buffer(buf), probe.wrap(second.handler()));
    });
    ASSERT_TRUE(run_until(ioc, second.ready()));
    EXPECT_EQ(second.get<0>(), smux::error::operation_in_progress);
    s.cancel();
    ASSERT_TRUE(run_until(ioc, first.ready()));

    // From inside a handler that runs on the session's strand (where the initiating function
    // could run its work inline) as well.
    bool outer_done = false;
    io_result inner;
    std::string const more = "more";
    io_result w2;
    c.async_write_some(asio::buffer(more), w2.handler());
    ASSERT_TRUE(
        run_until(ioc, [&] { return w2.done && p.server.stats().buffered_bytes == more.size(); }));
    s.async_read_some(asio::mutable_buffer(buf.data(), 1), [&](smux::error_code, std::size_t) {
        probe.start([&] { s.async_read_some(asio::buffer(buf), probe.wrap(inner.handler())); });
        EXPECT_FALSE(inner.done);
        outer_done = true;
    });
    ASSERT_TRUE(run_until(ioc, [&] { return outer_done && inner.done; }));
    EXPECT_EQ(std::string(buf.data(), inner.get<1>()), more.substr(1));

    // Session-level operations after the end complete at once, but not inline.
    capture<smux::error_code> waited, shut;
    stream_result late_open;
    p.client.close();
    ASSERT_TRUE(run_until(ioc, [&] { return !p.client.is_open(); }));
    probe.start([&] {
        p.client.async_wait_closed(probe.wrap(waited.handler()));
        p.client.async_shutdown(probe.wrap(shut.handler()));
        p.client.async_open_stream(probe.wrap(late_open.handler()));
        c.async_write_some(asio::buffer(text), probe.wrap(count));
    });
    ASSERT_TRUE(
        run_until(ioc, [&] { return waited.done && shut.done && late_open.done && done == 1; }));
    EXPECT_EQ(waited.get<0>(), smux::error::session_closed);
    EXPECT_EQ(late_open.get<0>(), smux::error::session_closed);

    EXPECT_EQ(probe.inline_calls, 0);
    EXPECT_EQ(probe.calls, 12);
}

TEST_P(tokens, completions_run_on_the_session_strand_by_default) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(GetParam()));
    auto const* strand = p.client.get_executor().target<asio::strand<asio::any_io_executor>>();
    ASSERT_NE(strand, nullptr) << "the session executor is not a strand";
    bool on_strand = false;
    bool done = false;
    p.client.async_open_stream([&](smux::error_code, smux::stream) {
        on_strand = strand->running_in_this_thread();
        done = true;
    });
    ASSERT_TRUE(run_until(ioc, [&] { return done; }));
    EXPECT_TRUE(on_strand);
}

TEST_P(tokens, the_handlers_associated_executor_is_honoured) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(GetParam()));
    auto pair = open_pair_now(ioc, p.client, p.server);
    ASSERT_TRUE(pair);
    smux::stream& c = pair->first;
    smux::stream& s = pair->second;
    auto mine = asio::make_strand(ioc);
    std::array<char, 16> buf{};
    int on_mine = 0;
    int calls = 0;
    auto handler = [&](smux::error_code, std::size_t) {
        ++calls;
        if (mine.running_in_this_thread()) {
            ++on_mine;
        }
    };
    s.async_read_some(asio::buffer(buf), asio::bind_executor(mine, handler));  // parked
    s.async_read_some(asio::mutable_buffer(buf.data(), 0),
                      asio::bind_executor(mine, handler));  // immediate
    std::string const text = "x";
    c.async_write_some(asio::buffer(text), asio::bind_executor(mine, handler));
    ASSERT_TRUE(run_until(ioc, [&] { return calls == 3; }));
    EXPECT_EQ(on_mine, 3);
}

// A strand over a type-erased executor (what make_strand gives for an any_io_executor) is an
// executor Asio 1.22's executor_work_guard cannot hold: a parked operation must still compile,
// keep it busy and complete on it.
TEST_P(tokens, a_handler_bound_to_a_strand_over_any_io_executor_is_honoured) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(GetParam()));
    auto pair = open_pair_now(ioc, p.client, p.server);
    ASSERT_TRUE(pair);
    asio::strand<asio::any_io_executor> mine(asio::any_io_executor(ioc.get_executor()));
    std::array<char, 16> buf{};
    bool on_mine = false;
    std::size_t got = 0;
    pair->second.async_read_some(asio::buffer(buf),
                                 asio::bind_executor(mine, [&](smux::error_code ec, std::size_t n) {
                                     EXPECT_FALSE(ec) << ec.message();
                                     on_mine = mine.running_in_this_thread();
                                     got = n;
                                 }));
    std::string const text = "abc";
    pair->first.async_write_some(asio::buffer(text), [](smux::error_code, std::size_t) {});
    ASSERT_TRUE(run_until(ioc, [&] { return got != 0; }));
    EXPECT_EQ(got, text.size());
    EXPECT_TRUE(on_mine);
}

/// Counts allocations; shares its counters with every rebound copy.
template <class T>
struct counting_allocator {
    using value_type = T;
    std::shared_ptr<std::pair<std::atomic<int>, std::atomic<int>>> counts;

    explicit counting_allocator(std::shared_ptr<std::pair<std::atomic<int>, std::atomic<int>>> c)
        : counts(std::move(c)) {}
    template <class U>
    counting_allocator(counting_allocator<U> const& other) noexcept  // NOLINT: rebinding
        : counts(other.counts) {}

    T* allocate(std::size_t n) {
        ++counts->first;
        return std::allocator<T>().allocate(n);
    }
    void deallocate(T* ptr, std::size_t n) noexcept {
        ++counts->second;
        std::allocator<T>().deallocate(ptr, n);
    }
    template <class U>
    bool operator==(counting_allocator<U> const& other) const noexcept {
        return counts == other.counts;
    }
};

TEST_P(tokens, the_handlers_associated_allocator_is_used_and_released_before_the_call) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(GetParam()));
    auto pair = open_pair_now(ioc, p.client, p.server);
    ASSERT_TRUE(pair);
    smux::stream& c = pair->first;
    smux::stream& s = pair->second;
    auto counts = std::make_shared<std::pair<std::atomic<int>, std::atomic<int>>>(0, 0);
    std::array<char, 16> buf{};
    int allocated_at_call = -1;
    int freed_at_call = -1;
    bool done = false;
    s.async_read_some(asio::buffer(buf), asio::bind_allocator(counting_allocator<void>(counts),
                                                              [&](smux::error_code, std::size_t) {
                                                                  allocated_at_call = counts->first;
                                                                  freed_at_call = counts->second;
                                                                  done = true;
                                                              }));
    run_ready(ioc);
    std::string const text = "alloc";
    io_result w;
    c.async_write_some(asio::buffer(text), w.handler());
    ASSERT_TRUE(run_until(ioc, [&] { return done; }));
    EXPECT_GT(allocated_at_call, 0) << "the parked read did not use the handler's allocator";
    EXPECT_EQ(freed_at_call, allocated_at_call)
        << "memory from the handler's allocator was still held when the handler ran";
}

TEST_P(tokens, use_future_with_the_loop_on_another_thread) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(GetParam()));
    auto work = asio::make_work_guard(ioc);
    std::thread io([&] { ioc.run(); });
    struct joiner {
        asio::io_context& ioc;
        std::thread& t;
        ~joiner() {
            ioc.stop();
            t.join();
        }
    } const join_at_exit{ioc, io};

    auto ready = [](auto& f) { return f.wait_for(watchdog_limit) == std::future_status::ready; };
    auto opened = p.client.async_open_stream(asio::use_future);
    auto accepted = p.server.async_accept_stream(asio::use_future);
    ASSERT_TRUE(ready(opened));
    ASSERT_TRUE(ready(accepted));
    smux::stream c = opened.get();
    smux::stream s = accepted.get();
    EXPECT_EQ(c.id(), s.id());

    std::string const text = "through futures";
    auto written = c.async_write_some(asio::buffer(text), asio::use_future);
    ASSERT_TRUE(ready(written));
    EXPECT_EQ(written.get(), text.size());
    std::string got(text.size(), '\0');
    auto read = asio::async_read(s, asio::buffer(got), asio::use_future);
    ASSERT_TRUE(ready(read));
    EXPECT_EQ(read.get(), text.size());
    EXPECT_EQ(got, text);

    // Errors arrive as exceptions carrying the error code.
    c.shutdown_send();
    std::array<char, 4> buf{};
    auto at_end = s.async_read_some(asio::buffer(buf), asio::use_future);
    ASSERT_TRUE(ready(at_end));
    try {
        (void)at_end.get();
        ADD_FAILURE() << "a read after FIN succeeded";
    } catch (std::system_error const& e) {
        EXPECT_EQ(e.code(), asio::error::eof);
    }
    auto server_end = p.server.async_wait_closed(asio::use_future);
    p.client.close();
    ASSERT_TRUE(ready(server_end));
    try {
        server_end.get();
        ADD_FAILURE() << "wait_closed completed without an error";
    } catch (std::system_error const& e) {
        EXPECT_EQ(e.code(), smux::error::connection_closed);
    }
    auto shut = p.server.async_shutdown(asio::use_future);
    ASSERT_TRUE(ready(shut));
    EXPECT_THROW(shut.get(), std::system_error);
}

TEST_P(tokens, deferred_operations_start_only_when_launched) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(GetParam()));
    auto open = p.client.async_open_stream(asio::experimental::deferred);
    run_ready(ioc);
    EXPECT_EQ(p.client.stats().streams_opened, 0U);
    stream_result opened;
    std::move(open)(opened.handler());
    ASSERT_TRUE(run_until(ioc, opened.ready()));
    ASSERT_FALSE(opened.get<0>());
    EXPECT_EQ(p.client.stats().streams_opened, 1U);
    smux::stream c = std::move(opened.get<1>());

    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto accept = p.server.async_accept_stream(asio::experimental::deferred);
        smux::stream s = co_await std::move(accept)(asio::use_awaitable);
        std::string const text = "deferred";
        auto write = c.async_write_some(asio::buffer(text), asio::experimental::deferred);
        std::array<char, 16> buf{};
        auto read = s.async_read_some(asio::buffer(buf), asio::experimental::deferred);
        std::size_t const n = co_await std::move(write)(asio::use_awaitable);
        EXPECT_EQ(n, text.size());
        std::size_t const m = co_await std::move(read)(asio::use_awaitable);
        EXPECT_EQ(std::string(buf.data(), m), text.substr(0, m));
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

TEST_P(tokens, use_awaitable_throws_the_error_code) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(GetParam()));
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto c_s = co_await open_pair(p.client, p.server);
        smux::stream& c = c_s.first;
        smux::stream& s = c_s.second;
        c.shutdown_send();
        std::array<char, 4> buf{};
        try {
            co_await s.async_read_some(asio::buffer(buf), asio::use_awaitable);
            ADD_FAILURE() << "a read after FIN succeeded";
        } catch (std::system_error const& e) {
            EXPECT_EQ(e.code(), asio::error::eof);
        }
        c.shutdown_send();
        try {
            co_await c.async_write_some(asio::buffer(buf), asio::use_awaitable);
            ADD_FAILURE() << "a write after shutdown_send succeeded";
        } catch (std::system_error const& e) {
            EXPECT_EQ(e.code(), smux::error::broken_pipe);
        }
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

TEST_P(tokens, as_default_on_gives_sessions_and_streams_a_default_token) {
    // Asio's idiom for a default completion token: the executor type carries it. Sessions and
    // the streams they hand out rebind to it, and then every operation works without a token.
    using awaitable_session = asio::use_awaitable_t<>::as_default_on_t<smux::local_session>;
    using awaitable_stream = awaitable_session::stream_type;
    static_assert(
        std::is_same_v<awaitable_stream, asio::use_awaitable_t<>::as_default_on_t<smux::stream>>);
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(GetParam()));
    awaitable_session client = asio::use_awaitable_t<>::as_default_on(std::move(p.client));
    awaitable_session server(std::move(p.server));
    EXPECT_FALSE(p.client.is_open());  // the session moved over
    EXPECT_TRUE(client.is_open());
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        awaitable_stream c = co_await client.async_open_stream();
        std::string const text = "no token";
        std::size_t const n = co_await c.async_write_some(asio::buffer(text));
        EXPECT_EQ(n, text.size());
        c.shutdown_send();
        awaitable_stream s = co_await server.async_accept_stream();
        EXPECT_EQ(s.id(), c.id());
        std::string got(text.size(), '\0');
        std::size_t const m = co_await asio::async_read(s, asio::buffer(got));
        EXPECT_EQ(got.substr(0, m), text);
        smux::stream plain = std::move(s);  // back to the plain handle: the same stream
        EXPECT_EQ(plain.id(), c.id());
        co_await client.async_shutdown();  // no error: a graceful end
        try {
            co_await client.async_wait_closed();  // its terminal error is thrown
            ADD_FAILURE() << "wait_closed reported no error";
        } catch (std::system_error const& e) {
            EXPECT_EQ(e.code(), smux::error::session_closed);
        }
        server.close();
    });
    ASSERT_TRUE(tasks.wait(ioc));
    EXPECT_FALSE(client.is_open());
}

TEST_P(tokens, composed_reads_and_writes_with_buffer_sequences) {
    asio::io_context ioc;
    auto p = make_local_pair(ioc, quiet_config(GetParam()));
    bytes const data = random_bytes(300000, 91);
    task_group tasks;
    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        auto c_s = co_await open_pair(p.client, p.server);
        smux::stream& c = c_s.first;
        smux::stream& s = c_s.second;

        // Gather 20 pieces of changing size (some empty) into one async_write.
        std::vector<asio::const_buffer> out;
        std::size_t pos = 0;
        for (std::size_t i = 0; pos < data.size(); ++i) {
            std::size_t const n =
                std::min<std::size_t>(data.size() - pos, (i % 4) * 9000 + (i % 3) * 3000);
            out.emplace_back(data.data() + pos, n);
            pos += n;
        }
        EXPECT_GT(out.size(), 8U);
        // Scatter into 12 pieces with one async_read.
        bytes in(data.size());
        std::vector<asio::mutable_buffer> pieces;
        std::size_t const piece = in.size() / 12 + 1;
        for (std::size_t off = 0; off < in.size(); off += piece) {
            pieces.emplace_back(in.data() + off, std::min(piece, in.size() - off));
        }
        auto writer = [&]() -> asio::awaitable<std::size_t> {
            co_return co_await asio::async_write(c, out, asio::use_awaitable);
        };
        auto reader = [&]() -> asio::awaitable<std::size_t> {
            co_return co_await asio::async_read(s, pieces, asio::use_awaitable);
        };
        auto [wrote, read] = co_await (writer() && reader());
        EXPECT_EQ(wrote, data.size());
        EXPECT_EQ(read, data.size());
        EXPECT_EQ(first_difference(in, data), -1);

        // A single write_some with more buffers than it takes at once: a short count of the
        // leading bytes, the rest is written by the next call.
        std::array<char, 12> letters{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'};
        std::vector<asio::const_buffer> singles;
        for (char const& ch : letters) {
            singles.emplace_back(&ch, 1);
        }
        std::size_t const n = co_await c.async_write_some(singles, asio::use_awaitable);
        EXPECT_GE(n, 1U);
        EXPECT_LE(n, letters.size());
        std::string got(n, '\0');
        co_await asio::async_read(s, asio::buffer(got), asio::use_awaitable);
        EXPECT_EQ(got, std::string(letters.data(), n));

        // Line-oriented reads with a dynamic buffer.
        std::string const lines = "first line\nsecond line\n";
        co_await asio::async_write(c, asio::buffer(lines), asio::use_awaitable);
        std::string text;
        std::size_t const l1 = co_await asio::async_read_until(s, asio::dynamic_buffer(text), '\n',
                                                               asio::use_awaitable);
        EXPECT_EQ(text.substr(0, l1), "first line\n");
        text.erase(0, l1);
        std::size_t const l2 = co_await asio::async_read_until(s, asio::dynamic_buffer(text), '\n',
                                                               asio::use_awaitable);
        EXPECT_EQ(text.substr(0, l2), "second line\n");
    });
    ASSERT_TRUE(tasks.wait(ioc));
}

TEST_P(tokens, several_threads_run_the_sessions) {
    // Three threads run one io_context; streams are opened, used and closed from coroutines
    // that resume on any of them.
    asio::io_context ioc;
    auto p = make_local_pair(ioc, make_config(GetParam()));
    constexpr int count = 100;
    std::atomic<int> verified{0};
    std::mutex ids_mutex;
    std::set<std::uint32_t> ids;
    task_group tasks;
    auto work = asio::make_work_guard(ioc);
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
        threads.emplace_back([&] { ioc.run(); });
    }
    struct joiner {
        asio::io_context& ioc;
        std::vector<std::thread>& threads;
        ~joiner() {
            ioc.stop();
            for (auto& t : threads) {
                t.join();
            }
        }
    } const join_at_exit{ioc, threads};

    tasks.spawn(ioc, [&]() -> asio::awaitable<void> {
        for (int i = 0; i < count; ++i) {
            smux::stream s = co_await p.server.async_accept_stream(asio::use_awaitable);
            tasks.spawn(ioc, [s = std::move(s)]() mutable -> asio::awaitable<void> {
                co_await echo_until_eof(s);
            });
        }
    });
    for (int i = 0; i < count; ++i) {
        tasks.spawn(ioc, [&, i]() -> asio::awaitable<void> {
            smux::stream s = co_await p.client.async_open_stream(asio::use_awaitable);
            {
                std::lock_guard lock(ids_mutex);
                ids.insert(s.id());
            }
            bytes const data = random_bytes(20000 + 997 * static_cast<std::size_t>(i),
                                            300 + static_cast<std::uint64_t>(i));
            auto writer = [&]() -> asio::awaitable<void> {
                co_await asio::async_write(s, asio::buffer(data), asio::use_awaitable);
                s.shutdown_send();
            };
            auto [ec, got] = co_await (writer() && read_to_end(s));
            if (ec == asio::error::eof && got == data) {
                ++verified;
            } else {
                ADD_FAILURE() << "stream " << s.id() << ": " << ec.message() << ", " << got.size()
                              << " of " << data.size() << " bytes";
            }
            (void)p.client.stats();  // readable from any thread
        });
    }
    // The loop runs on the threads; this one only waits.
    ASSERT_TRUE(tasks.wait_blocking(heavy_watchdog_limit));
    EXPECT_EQ(verified.load(), count);
    std::lock_guard lock(ids_mutex);
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(count));
    EXPECT_EQ(p.server.stats().streams_accepted, static_cast<std::uint64_t>(count));
}

INSTANTIATE_TEST_SUITE_P(versions, tokens, ::testing::Values(1, 2), version_name);

}  // namespace
