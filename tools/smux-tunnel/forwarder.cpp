#include "forwarder.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <vector>

namespace smux_tunnel {

namespace {

constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

/// The most stream bytes lent at once: a few frames, so one write to the socket moves them.
constexpr std::size_t receive_limit = 262144;

}  // namespace

std::string summary(forward_result const& r) {
    std::string out =
        "sent " + std::to_string(r.sent) + " B, received " + std::to_string(r.received) + " B";
    return r.failure.empty() ? out : out + ", " + r.failure;
}

void forwarder_set::close_all(std::string const& why) {
    // abort() leaves the set untouched (each forwarder leaves it when its run ends).
    std::vector<forwarder*> const now(live_.begin(), live_.end());
    for (forwarder* f : now) {
        f->abort(why);
    }
}

forwarder::forwarder(local_socket socket, smux::stream stream, buffer_pool& pool,
                     forwarder_set& set)
    : socket_(std::move(socket)), stream_(std::move(stream)), pool_(pool), set_(set) {
    set_.live_.insert(this);
}

forwarder::~forwarder() {
    set_.live_.erase(this);
}

asio::awaitable<forward_result> forwarder::run() {
    using namespace asio::experimental::awaitable_operators;
    asio::error_code ec;
    // Reads of the socket never wait: they take what async_wait announced.
    socket_.non_blocking(true, ec);
    if (ec) {
        fail("local socket", ec);
    } else {
        co_await (socket_to_stream() && stream_to_socket());
    }
    socket_.close(ec);
    stream_.close();
    co_return result_;
}

void forwarder::abort(std::string const& why) noexcept {
    if (result_.failure.empty()) {
        result_.failure = why;
    }
    asio::error_code ignored;
    socket_.close(ignored);
    stream_.close();
}

void forwarder::fail(char const* where, asio::error_code const& ec) noexcept {
    // The first failure is the cause; the other direction then fails as aborted.
    if (result_.failure.empty()) {
        result_.failure = std::string(where) + ": " + ec.message();
    }
    abort(result_.failure);
}

asio::awaitable<void> forwarder::socket_to_stream() {
    for (;;) {
        auto [wait_error] = co_await socket_.async_wait(local_socket::wait_read, as_tuple);
        if (wait_error) {
            fail("local read", wait_error);
            co_return;
        }
        for (;;) {  // take what is there, then wait again
            auto const block = pool_.borrow();
            asio::error_code ec;
            std::size_t const n = socket_.read_some(block.buffer(), ec);
            if (ec == asio::error::would_block || ec == asio::error::try_again) {
                break;
            }
            if (ec == asio::error::eof) {
                stream_.shutdown_send();  // FIN: the peer's target sees the half-close
                co_return;
            }
            if (ec) {
                fail("local read", ec);
                co_return;
            }
            auto [write_error, written] =
                co_await asio::async_write(stream_, asio::buffer(block.data(), n), as_tuple);
            if (write_error) {
                fail("stream write", write_error);
                co_return;
            }
            result_.sent += written;
            set_.total_.sent += written;
        }
    }
}

asio::awaitable<void> forwarder::stream_to_socket() {
    for (;;) {
        auto [ec, data] = co_await stream_.async_receive(receive_limit, as_tuple);
        if (ec == asio::error::eof) {
            asio::error_code ignored;
            socket_.shutdown(local_socket::shutdown_send, ignored);
            co_return;
        }
        if (ec) {
            fail("stream read", ec);
            co_return;
        }
        auto [write_error, written] = co_await asio::async_write(socket_, data.buffers(), as_tuple);
        if (write_error) {
            fail("local write", write_error);
            co_return;
        }
        result_.received += written;
        set_.total_.received += written;
    }
}

}  // namespace smux_tunnel
