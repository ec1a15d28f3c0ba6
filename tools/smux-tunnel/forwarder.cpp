#include "forwarder.hpp"

#include <asio/write.hpp>
#include <utility>

namespace smux_tunnel {

namespace {

/// The most stream bytes lent at once: a few frames, so one write to the socket moves them.
constexpr std::size_t receive_limit = 262144;

bool would_block(asio::error_code const& ec) {
    return ec == asio::error::would_block || ec == asio::error::try_again;
}

/** Allocates exactly what an operation asks for, for the socket wait an idle connection keeps
    pending. Asio's default recycles blocks per thread, and a recycled block is as large as
    whatever used it last: a socket wait would often sit in a socket write's block, several
    times its size, for as long as the connection idles. */
template <class T>
struct exact_allocator {
    using value_type = T;
    exact_allocator() noexcept = default;
    template <class U>
    exact_allocator(exact_allocator<U> const& /*other*/) noexcept {}  // NOLINT: rebinding
    T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
    void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>().deallocate(p, n); }
    template <class U>
    bool operator==(exact_allocator<U> const& /*other*/) const noexcept {
        return true;
    }
};

}  // namespace

// The completion handlers: the forwarder's address and nothing else. Without an executor of
// their own, a socket's run on the io_context and a stream's on the session's strand (where
// the stream's non-blocking `receive` must run); the tool has one thread, so both may touch
// the forwarder.

struct forwarder::socket_readable {
    using allocator_type = exact_allocator<void>;
    [[nodiscard]] allocator_type get_allocator() const noexcept { return {}; }
    void operator()(asio::error_code const& ec) const { self->on_socket_readable(ec); }
    forwarder* self;
};

struct forwarder::stream_written {
    void operator()(asio::error_code const& ec, std::size_t n) const {
        self->on_stream_written(ec, n);
    }
    forwarder* self;
};

struct forwarder::stream_readable {
    // A parked stream operation already allocates exactly (smux's op_slot).
    void operator()(asio::error_code const& ec) const { self->on_stream_readable(ec); }
    forwarder* self;
};

struct forwarder::socket_written {
    void operator()(asio::error_code const& ec, std::size_t n) const {
        self->on_socket_written(ec, n);
    }
    forwarder* self;
};

std::string summary(forward_result const& r) {
    std::string out =
        "sent " + std::to_string(r.sent) + " B, received " + std::to_string(r.received) + " B";
    return r.failure.empty() ? out : out + ", " + r.failure;
}

forwarder_set::~forwarder_set() {
    while (forwarder* f = live_.front()) {
        delete f;  // leaves the list
    }
}

void forwarder_set::close_all(std::string const& why) {
    // abort() leaves the list untouched: each forwarder leaves it when its handlers ran.
    for (forwarder* f = live_.front(); f != nullptr; f = decltype(live_)::next(*f)) {
        f->abort(why);
    }
}

void forwarder::start(local_socket socket, smux::stream stream, std::string route,
                      forwarder_set& set, buffer_pool& pool, logger& log) {
    auto* f = new forwarder(std::move(socket), std::move(stream), std::move(route), set, pool, log);
    asio::error_code ec;
    // Reads of the socket never wait: they take what async_wait announced.
    f->socket_.non_blocking(true, ec);
    if (ec) {
        f->fail("local socket", ec);
        f->running_ = 1;
        f->direction_ended();
        return;
    }
    f->wait_for_socket();
    f->wait_for_stream();
}

forwarder::forwarder(local_socket socket, smux::stream stream, std::string route,
                     forwarder_set& set, buffer_pool& pool, logger& log)
    : socket_(std::move(socket)),
      stream_(std::move(stream)),
      route_(std::move(route)),
      set_(set),
      pool_(pool),
      log_(log) {
    set_.live_.push_back(*this);
}

forwarder::~forwarder() {
    set_.live_.erase(*this);
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

void forwarder::direction_ended() {
    if (--running_ > 0) {
        return;
    }
    struct free_at_exit {
        forwarder* f;
        ~free_at_exit() { delete f; }
    } const gone{this};  // no handler of this connection is left
    asio::error_code ignored;
    socket_.close(ignored);
    stream_.close();
    if (log_.shows_stream_events()) {
        log_.stream_event("stream closed " + route_ + ": " + summary(result_));
    }
}

// ---- socket to stream

void forwarder::wait_for_socket() {
    socket_.async_wait(local_socket::wait_read, socket_readable{this});
}

void forwarder::on_socket_readable(asio::error_code const& ec) {
    if (ec) {
        fail("local read", ec);
        direction_ended();
        return;
    }
    read_socket();
}

void forwarder::read_socket() {
    // Takes what is there; waits again when nothing is.
    auto block = pool_.borrow();
    asio::error_code ec;
    std::size_t const n = socket_.read_some(block.buffer(), ec);
    if (would_block(ec)) {
        wait_for_socket();
        return;
    }
    if (ec == asio::error::eof) {
        stream_.shutdown_send();  // FIN: the peer's target sees the half-close
        direction_ended();
        return;
    }
    if (ec) {
        fail("local read", ec);
        direction_ended();
        return;
    }
    outgoing_.emplace(std::move(block));
    asio::async_write(stream_, asio::buffer(outgoing_->data(), n), stream_written{this});
}

void forwarder::on_stream_written(asio::error_code const& ec, std::size_t written) {
    outgoing_.reset();
    if (ec) {
        fail("stream write", ec);
        direction_ended();
        return;
    }
    result_.sent += written;
    set_.total_.sent += written;
    read_socket();  // more may be there already
}

// ---- stream to socket

void forwarder::wait_for_stream() {
    stream_.async_wait(smux::stream::wait_read, stream_readable{this});
}

void forwarder::on_stream_readable(asio::error_code const& wait_error) {
    asio::error_code ec = wait_error;
    if (!ec) {
        // A receive now completes at once: with bytes, end of file or the session's error.
        auto data = stream_.receive(receive_limit, ec);
        if (would_block(ec)) {
            wait_for_stream();
            return;
        }
        if (!ec) {
            incoming_ = std::make_unique<smux::received_buffers>(std::move(data));
            asio::async_write(socket_, incoming_->buffers(), socket_written{this});
            return;
        }
    }
    if (ec == asio::error::eof) {
        asio::error_code ignored;
        socket_.shutdown(local_socket::shutdown_send, ignored);
    } else {
        fail("stream read", ec);
    }
    direction_ended();
}

void forwarder::on_socket_written(asio::error_code const& ec, std::size_t written) {
    incoming_.reset();  // the bytes go back to the session: its budget, the peer's credit
    if (ec) {
        fail("local write", ec);
        direction_ended();
        return;
    }
    result_.received += written;
    set_.total_.received += written;
    wait_for_stream();
}

}  // namespace smux_tunnel
