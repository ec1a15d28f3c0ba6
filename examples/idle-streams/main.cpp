// Many idle streams without a buffer each: the server waits for data with
// `async_wait(wait_read)` and borrows a buffer from a small pool only while it echoes one
// message (or, with --zero-copy, echoes the session's own receive blocks from
// `async_receive`). The client opens 1,000 streams over one TCP connection on 127.0.0.1,
// leaves them all open, and sends each a message in turn. Exits non-zero unless every message
// came back, and, with the pool, unless far fewer buffers than streams were ever allocated
// (one message is in flight at a time, so one or two buffers serve all 1,000 streams) and
// every buffer is back in the pool at the end.

#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <smux/smux.hpp>

namespace {

using asio::ip::tcp;
constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr int stream_count = 1'000;

// [snippet:pool]
// Fixed-size buffers handed out and taken back; a buffer exists only while some stream uses
// it, so the pool grows to the number of messages in flight, not the number of streams.
class buffer_pool {
  public:
    static constexpr std::size_t buffer_size = 16 * 1024;
    using buffer = std::unique_ptr<std::byte[]>;

    buffer take() {
        ++in_use_;
        if (free_.empty()) {
            ++allocated_;
            return std::make_unique_for_overwrite<std::byte[]>(buffer_size);
        }
        buffer b = std::move(free_.back());
        free_.pop_back();
        return b;
    }
    void give_back(buffer b) {
        --in_use_;
        free_.push_back(std::move(b));
    }

    [[nodiscard]] std::size_t in_use() const { return in_use_; }
    [[nodiscard]] std::size_t allocated() const { return allocated_; }

  private:
    std::vector<buffer> free_;
    std::size_t in_use_ = 0;
    std::size_t allocated_ = 0;
};
// [end-snippet]

// [snippet:echo-when-readable]
// Echoes one stream; while it waits it holds no buffer. Runs on the session's strand
// (spawned on session.get_executor()), where the non-blocking read_some is allowed.
asio::awaitable<void> echo_when_readable(smux::stream s, buffer_pool& pool) {
    for (;;) {
        auto [wait_ec] = co_await s.async_wait(smux::stream::wait_read, as_tuple);
        if (wait_ec) {
            co_return;
        }
        // A read now completes at once: with bytes, end of file or the session's error.
        buffer_pool::buffer buffer = pool.take();
        smux::error_code read_ec;
        std::size_t const n = s.read_some(asio::buffer(buffer.get(), pool.buffer_size), read_ec);
        smux::error_code write_ec;
        if (n > 0) {
            std::tie(write_ec, std::ignore) =
                co_await asio::async_write(s, asio::buffer(buffer.get(), n), as_tuple);
        }
        pool.give_back(std::move(buffer));
        if (read_ec || write_ec) {
            co_return;  // asio::error::eof after the peer's FIN, or the session ended
        }
    }
}
// [end-snippet]

// [snippet:echo-zero-copy]
// Echoes one stream without copying: async_receive lends the received bytes in the session's
// own receive blocks, async_write sends them on, and releasing them (here: at the end of the
// loop body) gives the peer its credit back. While it waits it holds nothing.
asio::awaitable<void> echo_zero_copy(smux::stream s) {
    for (;;) {
        auto [ec, received] = co_await s.async_receive(64 * 1024, as_tuple);
        if (ec) {
            co_return;  // asio::error::eof after the peer's FIN, or the session ended
        }
        auto [write_ec, n] = co_await asio::async_write(s, received.buffers(), as_tuple);
        if (write_ec) {
            co_return;
        }
    }
}
// [end-snippet]

asio::awaitable<void> serve(tcp::acceptor& acceptor, buffer_pool& pool, bool zero_copy) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    smux::tcp_session session(smux::role::server, std::move(socket));
    for (;;) {
        auto [ec, s] = co_await session.async_accept_stream(as_tuple);
        if (ec) {
            co_return;
        }
        if (zero_copy) {
            asio::co_spawn(session.get_executor(), echo_zero_copy(std::move(s)), asio::detached);
        } else {
            asio::co_spawn(session.get_executor(), echo_when_readable(std::move(s), pool),
                           asio::detached);
        }
    }
}

// Opens every stream first, then sends each a message and reads its echo, one at a time, so
// that all the other streams are idle meanwhile. Returns how many echoes came back intact.
asio::awaitable<int> client(tcp::endpoint server) {
    tcp::socket socket(co_await asio::this_coro::executor);
    co_await socket.async_connect(server, asio::use_awaitable);
    smux::tcp_session session(smux::role::client, std::move(socket));
    std::vector<smux::stream> streams;
    for (int i = 0; i < stream_count; ++i) {
        streams.push_back(co_await session.async_open_stream(asio::use_awaitable));
    }
    int echoed = 0;
    for (int i = 0; i < stream_count; ++i) {
        std::string const message = "message " + std::to_string(i);
        co_await asio::async_write(streams[i], asio::buffer(message), asio::use_awaitable);
        std::string reply(message.size(), '\0');
        co_await asio::async_read(streams[i], asio::buffer(reply), asio::use_awaitable);
        echoed += reply == message ? 1 : 0;
    }
    co_await session.async_shutdown(asio::use_awaitable);
    co_return echoed;
}

}  // namespace

int main(int argc, char** argv) {
    bool const zero_copy = argc > 1 && std::string_view(argv[1]) == "--zero-copy";
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    buffer_pool pool;
    asio::co_spawn(io, serve(acceptor, pool, zero_copy), asio::detached);

    int echoed = 0;
    asio::co_spawn(io, client(acceptor.local_endpoint()), [&](std::exception_ptr e, int n) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (std::exception const& failure) {
                std::cerr << "client failed: " << failure.what() << '\n';
            }
        }
        echoed = n;
    });
    io.run();

    std::cout << echoed << " of " << stream_count << " streams echoed ("
              << (zero_copy ? "zero-copy" : "pooled buffers") << ")\n";
    bool ok = echoed == stream_count;
    if (!zero_copy) {
        std::cout << "buffers allocated: " << pool.allocated()
                  << ", held at the end: " << pool.in_use() << '\n';
        // One stream is served at a time here, so a handful of buffers serves them all.
        ok = ok && pool.allocated() < stream_count / 10 && pool.in_use() == 0;
    }
    std::cout << (ok ? "ok\n" : "FAILED\n");
    return ok ? 0 : 1;
}
