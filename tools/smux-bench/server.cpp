#include "server.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/signal_set.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <smux/smux.hpp>
#include <type_traits>
#include <vector>

#include "io_pool.hpp"
#include "net_util.hpp"
#include "process_stats.hpp"
#include "protocol.hpp"
#include "result.hpp"
#include "tls.hpp"

namespace smux_bench {

namespace {

/// Read and write call size of SINK and SOURCE: two smux frames, a common socket read size.
constexpr std::size_t server_chunk = 64 * 1024;

/// The SOURCE payload: the bench never checks payload bytes, and writers only read it.
constexpr std::array<unsigned char, server_chunk> zero_chunk{};

/// SINK read buffers: a stream borrows one for its lifetime, later streams reuse it. Streams on
/// every thread share it; the lock is taken once per SINK stream, not per read.
class chunk_pool {
  public:
    using chunk = std::unique_ptr<unsigned char[]>;

    chunk acquire() {
        std::lock_guard lock(mutex_);
        if (free_.empty()) {
            return std::make_unique_for_overwrite<unsigned char[]>(server_chunk);
        }
        chunk c = std::move(free_.back());
        free_.pop_back();
        return c;
    }
    void release(chunk c) noexcept {
        std::lock_guard lock(mutex_);
        try {
            free_.push_back(std::move(c));
        } catch (...) {
            // Out of memory: the chunk is freed instead.
        }
    }

  private:
    std::mutex mutex_;
    std::vector<chunk> free_;
};

/// Everything the handlers share, on every thread. It outlives the io_contexts, whose
/// destruction destroys the suspended handlers (they touch the counters and the pool as they
/// unwind).
struct server_state {
    smux::config cfg;
    bool raw = false;
    std::optional<asio::ssl::context> tls;         // --tls
    std::atomic<std::int64_t> active_streams = 0;  // handlers running, STATS excluded
    std::atomic<std::int64_t> total_streams = 0;   // handlers started since start, STATS excluded
    std::atomic<std::int64_t> active_conns = 0;    // accepted TCP connections not yet closed
    chunk_pool pool;

    [[nodiscard]] stats_record stats() const noexcept {
        auto const cpu = read_cpu_times();
        return stats_record{.rss_bytes = read_rss_bytes(),
                            .cpu_user_us = cpu.user_us,
                            .cpu_sys_us = cpu.sys_us,
                            .active_streams = active_streams,
                            .total_streams = total_streams,
                            .active_conns = active_conns};
    }
};

/// +1 on a counter for the lifetime of a scope.
class counted {
  public:
    explicit counted(std::atomic<std::int64_t>& c) noexcept : c_(c) { ++c_; }
    counted(counted const&) = delete;
    counted& operator=(counted const&) = delete;
    ~counted() { --c_; }

  private:
    std::atomic<std::int64_t>& c_;
};

/// Completion of a detached handler: a failure (out of memory) ends that handler only.
void log_failure(std::exception_ptr e) {
    if (!e) {
        return;
    }
    try {
        std::rethrow_exception(e);
    } catch (std::exception const& failure) {
        std::clog << "smux-bench server: handler failed: " << failure.what() << '\n';
    } catch (...) {
        std::clog << "smux-bench server: handler failed\n";
    }
}

template <class Stream>
asio::awaitable<void> serve_sink(Stream& s, server_state& st, std::uint64_t want) {
    auto chunk = st.pool.acquire();
    std::uint64_t got = 0;
    while (got < want) {
        auto const n = static_cast<std::size_t>(std::min<std::uint64_t>(server_chunk, want - got));
        auto [ec, k] = co_await s.async_read_some(asio::buffer(chunk.get(), n), as_tuple);
        got += k;
        if (ec && got < want) {
            break;
        }
    }
    st.pool.release(std::move(chunk));
    if (got < want) {
        co_return;
    }
    std::array<unsigned char, 8> reply{};
    put_u64le(reply.data(), got);
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(reply), as_tuple);
    (void)ec;
    (void)n;
}

template <class Stream>
asio::awaitable<void> serve_source(Stream& s, std::uint64_t want) {
    for (std::uint64_t sent = 0; sent < want;) {
        auto const n = static_cast<std::size_t>(std::min<std::uint64_t>(server_chunk, want - sent));
        auto [ec, k] = co_await asio::async_write(s, asio::buffer(zero_chunk.data(), n), as_tuple);
        sent += k;
        if (ec) {
            co_return;
        }
    }
}

template <class Stream>
asio::awaitable<void> serve_echo(Stream& s, std::size_t size) {
    auto msg = std::make_unique_for_overwrite<unsigned char[]>(size);
    for (;;) {
        // eof (nothing read) is the client's close at a message boundary; anything else,
        // including a partial message, ends the stream too.
        auto [rec, r] = co_await asio::async_read(s, asio::buffer(msg.get(), size), as_tuple);
        if (rec) {
            co_return;
        }
        auto [wec, w] = co_await asio::async_write(s, asio::buffer(msg.get(), size), as_tuple);
        if (wec) {
            co_return;
        }
    }
}

template <class Stream>
asio::awaitable<void> serve_open(Stream& s, std::size_t length) {
    // The client sends 1 byte: small payloads stay in the frame, so an OPEN stream costs no
    // allocation of ours.
    std::array<unsigned char, 64> small;
    std::unique_ptr<unsigned char[]> large;
    unsigned char* payload = small.data();
    if (length > small.size()) {
        large = std::make_unique_for_overwrite<unsigned char[]>(length);
        payload = large.get();
    }
    auto [rec, r] = co_await asio::async_read(s, asio::buffer(payload, length), as_tuple);
    if (rec || length == 0) {
        co_return;
    }
    auto [wec, w] = co_await asio::async_write(s, asio::buffer(payload, length), as_tuple);
    (void)wec;
}

/// Discards what arrives until end-of-stream, then closes. An idle stream holds no buffer and
/// no coroutine frame: only a parked wait with a small callback, so a held stream costs what
/// the library costs. What arrives is read into a buffer on the stack.
template <class Stream>
class idle_sink : public std::enable_shared_from_this<idle_sink<Stream>> {
  public:
    idle_sink(Stream s, server_state& st) : s_(std::move(s)), active_(st.active_streams) {
        if constexpr (std::is_same_v<Stream, tcp::socket>) {
            s_.non_blocking(true);  // as the smux stream's read_some: never waits
        }
    }

    void wait_next() {
        s_.async_wait(Stream::wait_read, [self = this->shared_from_this()](asio::error_code ec) {
            if (!ec) {
                ec = self->discard_available();
            }
            if (ec) {
                close_stream(self->s_);
            } else {
                self->wait_next();
            }
        });
    }

  private:
    /// Runs on the stream's executor (the session's strand for a smux stream: the handler has
    /// no executor of its own), where the non-blocking read is allowed.
    asio::error_code discard_available() {
        std::array<unsigned char, 512> scratch;  // NOLINT(cppcoreguidelines-pro-type-member-init)
        for (;;) {
            asio::error_code ec;
            s_.read_some(asio::buffer(scratch), ec);
            if (ec == asio::error::would_block) {
                return {};
            }
            if (ec) {
                return ec;
            }
        }
    }

    Stream s_;
    counted active_;
};

/// Reads and drops until the stream ends: the idle sink of a TLS connection, whose records only
/// its own reads can decrypt (so it keeps a coroutine, unlike idle_sink).
template <class Stream>
asio::awaitable<void> discard_until_end(Stream& s) {
    std::array<unsigned char, 512> scratch;  // NOLINT(cppcoreguidelines-pro-type-member-init)
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(scratch), as_tuple);
        if (ec) {
            co_return;
        }
    }
}

/// The server side of one bench stream (section 4); closes the stream at the end.
template <class Stream>
asio::awaitable<void> serve_stream(Stream s, server_state& st) {
    header_bytes hdr;
    auto [ec, n] = co_await asio::async_read(s, asio::buffer(hdr), as_tuple);
    if (!ec) {
        auto const h = decode_header(hdr);
        if (h.tag == static_cast<std::uint8_t>(tag::stats)) {
            auto const rec = encode_stats(st.stats());
            auto [wec, w] = co_await asio::async_write(s, asio::buffer(rec), as_tuple);
            (void)wec;
        } else if (valid_bench_header(h)) {
            ++st.total_streams;
            counted active(st.active_streams);
            switch (static_cast<tag>(h.tag)) {
                case tag::sink:
                    co_await serve_sink(s, st, h.count);
                    break;
                case tag::source:
                    co_await serve_source(s, h.count);
                    break;
                case tag::echo:
                    co_await serve_echo(s, static_cast<std::size_t>(h.count));
                    break;
                case tag::open:
                    co_await serve_open(s, static_cast<std::size_t>(h.count));
                    break;
                case tag::idle: {
                    static constexpr unsigned char ack[1] = {idle_ack};
                    auto [wec, w] = co_await asio::async_write(s, asio::buffer(ack), as_tuple);
                    if (wec) {
                        break;
                    }
                    if constexpr (std::is_same_v<Stream, tls_socket>) {
                        co_await discard_until_end(s);
                    } else {
                        std::make_shared<idle_sink<Stream>>(std::move(s), st)->wait_next();
                        co_return;  // the sink owns the stream now
                    }
                    break;
                }
                case tag::stats:
                    break;
            }
        }
    }
    close_stream(s);
}

/// Accepts the session's streams until it ends. This coroutine and every stream handler run on
/// the io_context's executor, not on the session's strand (see run_server).
template <class Session>
asio::awaitable<void> serve_session(Session session, server_state& st) {
    auto const ex = co_await asio::this_coro::executor;
    for (;;) {
        auto [ec, s] = co_await session.async_accept_stream(as_tuple);
        if (ec) {
            co_return;  // the session ended (the peer closed, keep-alive timeout, ...)
        }
        asio::co_spawn(ex, serve_stream(std::move(s), st), log_failure);
    }
}

/// One connection over `Socket` (TCP or TLS): a smux server session, or one raw bench stream.
template <class Socket>
asio::awaitable<void> serve_over(Socket s, server_state& st) {
    if (st.raw) {
        co_await serve_stream(std::move(s), st);
        co_return;
    }
    smux::basic_session<Socket> session(smux::role::server, std::move(s), st.cfg);
    co_await serve_session(std::move(session), st);
}

/// One accepted connection, on the io_context its socket belongs to; with --tls after the
/// server's TLS handshake.
asio::awaitable<void> serve_connection(tcp::socket socket, server_state& st) {
    counted conn(st.active_conns);
    if (!st.tls) {
        co_await serve_over(std::move(socket), st);
        co_return;
    }
    tls_socket tls(std::move(socket), *st.tls);
    auto [ec] = co_await tls.async_handshake(tls_socket::server, as_tuple);
    if (ec) {
        close_stream(tls);
        co_return;
    }
    co_await serve_over(std::move(tls), st);
}

/// Accepts on context 0; each connection goes to the pool's next context, where its session
/// and stream handlers then run.
asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, server_state& st, io_pool& pool) {
    auto backoff = std::chrono::milliseconds(5);
    for (;;) {
        asio::any_io_executor const target = pool.next().get_executor();
        auto [ec, socket] = co_await acceptor.async_accept(target, as_tuple);
        if (!acceptor.is_open() || ec == asio::error::operation_aborted) {
            co_return;
        }
        if (ec) {
            // Typically EMFILE under thousands of connections: keep serving the ones we have
            // and retry, instead of letting one error end the server.
            std::clog << "smux-bench server: accept: " << ec.message() << '\n';
            co_await sleep_for(backoff);
            backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
            continue;
        }
        backoff = std::chrono::milliseconds(5);
        set_no_delay(socket);
        asio::co_spawn(target, serve_connection(std::move(socket), st), log_failure);
    }
}

}  // namespace

int run_server(server_options const& opts) {
    server_state state;  // outlives the io_context (see server_state)
    state.cfg.version = opts.version;
    state.cfg.stream_window_autotune = opts.window_autotune;
    state.raw = opts.raw;
    if (opts.tls) {
        try {
            state.tls.emplace(make_server_tls_context());
        } catch (std::exception const& e) {
            std::cerr << "smux-bench server: TLS: " << e.what() << '\n';
            return 1;
        }
    }

    // One thread per io_context (one by default); a connection and everything of it stays on
    // one of them (io_pool.hpp). Coroutines run on the io_context's executor, not on their
    // session's strand: with one thread per context there is nothing for a strand to
    // serialize, the library accepts operations from any executor, and with Asio 1.22 every
    // completion posted through a strand<any_io_executor> costs several heap allocations
    // (type-erased executor copies), about eight times as many per round trip as through the
    // io_context.
    io_pool pool(opts.threads);  // after `state`: destroyed first (see server_state)
    auto& ioc = pool.context(0);
    tcp::acceptor acceptor(ioc);
    try {
        auto const endpoints = resolve(ioc, opts.listen, true);
        tcp::endpoint const ep = *endpoints.begin();
        acceptor.open(ep.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(ep);
        acceptor.listen();
    } catch (std::exception const& e) {
        std::cerr << "smux-bench server: " << e.what() << '\n';
        return 1;
    }

    // Installed before the listening line, so a script may signal as soon as it has read it.
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](asio::error_code ec, int) {
        if (!ec) {
            pool.stop();
        }
    });

    std::cout << R"({"listening":)" << json_quote(format_endpoint(acceptor.local_endpoint()))
              << R"(,"pid":)" << ::getpid() << "}" << std::endl;

    asio::co_spawn(ioc, accept_loop(acceptor, state, pool), log_failure);
    pool.run(std::chrono::microseconds(opts.spin_us));
    return 0;
}

}  // namespace smux_bench
