#include "echo_server.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <iostream>
#include <memory>
#include <smux/smux.hpp>

namespace smux_echo {

namespace {

constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

/** One echoed stream: wait until readable, read what is there into a buffer of that size,
    write it back, free the buffer, wait again. Its handlers have no executor of their own, so
    they run on the session's strand, where the non-blocking read is allowed. */
class echoed_stream : public std::enable_shared_from_this<echoed_stream> {
  public:
    echoed_stream(smux::stream s, echo_write_gauge* gauge) : s_(std::move(s)), gauge_(gauge) {}

    void wait() {
        s_.async_wait(smux::stream::wait_read,
                      [self = shared_from_this()](smux::error_code ec) { self->on_readable(ec); });
    }

  private:
    void on_readable(smux::error_code ec) {
        if (ec) {
            s_.close();
            return;
        }
        // At least one byte, so that after the peer's FIN the read reports end of file.
        std::size_t const size = std::clamp<std::size_t>(s_.available(ec), 1, echo_buffer_size);
        buffer_ = std::make_unique_for_overwrite<char[]>(size);
        std::size_t const n = s_.read_some(asio::buffer(buffer_.get(), size), read_error_);
        if (n == 0) {
            buffer_.reset();
            after_message();
            return;
        }
        if (gauge_ != nullptr) {
            gauge_->peak = std::max(gauge_->peak, ++gauge_->current);
        }
        asio::async_write(s_, asio::buffer(buffer_.get(), n),
                          [self = shared_from_this()](smux::error_code wec, std::size_t) {
                              self->on_written(wec);
                          });
    }

    void on_written(smux::error_code ec) {
        if (gauge_ != nullptr) {
            --gauge_->current;
        }
        buffer_.reset();
        if (ec) {
            s_.close();
            return;
        }
        after_message();
    }

    void after_message() {
        if (read_error_ && read_error_ != asio::error::would_block) {
            s_.close();  // eof after the peer's FIN, or the session ended
            return;
        }
        wait();
    }

    smux::stream s_;
    echo_write_gauge* gauge_;
    std::unique_ptr<char[]> buffer_;  ///< only while one message is echoed
    smux::error_code read_error_;
};

asio::awaitable<void> serve_session(asio::ip::tcp::socket socket, smux::config cfg) {
    auto const peer = socket.remote_endpoint();
    smux::tcp_session session(smux::role::server, std::move(socket), cfg);
    for (;;) {
        auto [ec, s] = co_await session.async_accept_stream(as_tuple);
        if (ec) {
            std::clog << "session from " << peer << " ended: " << ec.message() << '\n';
            break;
        }
        start_echo(std::move(s));
    }
}

}  // namespace

void start_echo(smux::stream s, echo_write_gauge* gauge) {
    std::make_shared<echoed_stream>(std::move(s), gauge)->wait();
}

asio::awaitable<void> run_echo_server(asio::ip::tcp::acceptor& acceptor, smux::config cfg) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(as_tuple);
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            std::clog << "accept failed: " << ec.message() << '\n';
            continue;
        }
        socket.set_option(asio::ip::tcp::no_delay(true), ec);
        auto const ex = socket.get_executor();
        asio::co_spawn(ex, serve_session(std::move(socket), cfg), [](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (std::exception const& failure) {
                    std::clog << "session failed: " << failure.what() << '\n';
                }
            }
        });
    }
}

}  // namespace smux_echo
