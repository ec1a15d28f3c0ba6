#ifndef SMUX_TEST_DUPLEX_STREAM_HPP
#define SMUX_TEST_DUPLEX_STREAM_HPP

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "smux/detail/asio_compat.hpp"
#include "smux/error.hpp"

namespace smux::test {

/** One end of an in-memory, in-order byte pipe pair that models Asio's AsyncReadStream and
    AsyncWriteStream, for tests that need a transport with exact control: reads and writes can
    be cut to a few bytes, an operation can fail after a given number of successful ones, and
    either side can end the pipe (end of file) or reset it (an error).

    Fault points for failure tests: `fail_after` and `break_after` fail the n-th operation,
    `eof_after` and `reset_after` end or break the pipe after a given number of received bytes,
    `set_read_delay` and `set_write_delay` let operations complete late (on a timer), and
    `fault_struck` tells whether an injected fault took effect.

    Both ends must share one single-threaded executor. Completions are always posted.
*/
class duplex_stream {
    struct pipe {
        std::deque<std::byte> bytes;
        bool eof = false;
        error_code reset;
        std::function<bool()> waiting_reader;  ///< returns false to keep waiting
    };

    /// A parked read lives in its pipe, outside the execution context; when the context is
    /// destroyed this drops it, breaking the cycle handler -> session -> stream -> pipe.
    class pipe_service : public net::execution_context::service {
      public:
        static inline net::execution_context::id id;  // NOLINT: Asio's service key
        explicit pipe_service(net::execution_context& ctx) : net::execution_context::service(ctx) {}
        void add(std::shared_ptr<pipe> const& p) {
            std::lock_guard lock(mutex_);
            std::erase_if(pipes_, [](auto const& w) { return w.expired(); });
            pipes_.push_back(p);
        }
        void shutdown() override {
            std::vector<std::weak_ptr<pipe>> pipes;
            {
                std::lock_guard lock(mutex_);
                pipes.swap(pipes_);
            }
            for (auto const& w : pipes) {
                if (auto p = w.lock()) {
                    auto reader = std::move(p->waiting_reader);
                    p->waiting_reader = nullptr;
                }
            }
        }

      private:
        std::mutex mutex_;
        std::vector<std::weak_ptr<pipe>> pipes_;
    };

  public:
    /// The executor both ends share.
    using executor_type = net::any_io_executor;
    /// An end is its own lowest layer.
    using lowest_layer_type = duplex_stream;

    /// An end not connected to any other (use `make_pair`).
    explicit duplex_stream(executor_type ex) : ex_(std::move(ex)) {}

    /// Connects two ends: what one writes the other reads.
    static std::pair<duplex_stream, duplex_stream> make_pair(executor_type const& ex) {
        duplex_stream a(ex);
        duplex_stream b(ex);
        a.in_ = std::make_shared<pipe>();
        b.in_ = std::make_shared<pipe>();
        a.out_ = b.in_;
        b.out_ = a.in_;
        auto& service = net::use_service<pipe_service>(net::query(ex, net::execution::context));
        service.add(a.in_);
        service.add(b.in_);
        return {std::move(a), std::move(b)};
    }

    /// The executor given at construction.
    [[nodiscard]] executor_type get_executor() const noexcept { return ex_; }
    /// This end.
    lowest_layer_type& lowest_layer() noexcept { return *this; }

    /// At most `n` bytes per read (1: a transport that delivers one byte at a time).
    void set_read_size(std::size_t n) noexcept { read_size_ = std::max<std::size_t>(n, 1); }
    /// At most `n` bytes per write.
    void set_write_size(std::size_t n) noexcept { write_size_ = std::max<std::size_t>(n, 1); }
    /// The operation after `n` successful ones (reads and writes together) fails with `ec`.
    /// So do all later ones; a read already waiting for bytes when a write fails goes on
    /// waiting, and fails when bytes or the end of file arrive (see `break_after`).
    void fail_after(std::size_t n, error_code ec) {
        fail_countdown_ = n;
        fail_error_ = ec;
        fail_breaks_reads_ = false;
    }

    /// Like `fail_after`, and when the failure strikes, a read of this end that waits for
    /// bytes fails with `ec` at once, as on a broken socket whose reads and writes fail
    /// together.
    void break_after(std::size_t n, error_code ec) {
        fail_after(n, ec);
        fail_breaks_reads_ = true;
    }

    /** After `n` more bytes were read at this end, its reads report end of file, as if the
        peer had closed the connection right behind those bytes; bytes the peer wrote
        beyond them are never read. Writes are not affected. */
    void eof_after(std::size_t n) {
        read_budget_ = n;
        budget_error_ = {};
    }

    /** After `n` more bytes were read at this end, the pipe breaks both ways with `ec` (as
        `reset` does), as a connection reset that arrives right behind those bytes: the read
        that takes the last of them succeeds, every later operation of either end fails. */
    void reset_after(std::size_t n, error_code ec = net::error::connection_reset) {
        read_budget_ = n;
        budget_error_ = ec;
        if (n == 0) {
            strike_budget();
        }
    }

    /// Each later read completes `d` after it took its bytes (or its error), on a timer of
    /// this end's executor. Zero: completions are posted at once (the default).
    void set_read_delay(std::chrono::nanoseconds d) noexcept { read_delay_ = d; }
    /// Each later write completes `d` after its bytes were handed to the peer.
    void set_write_delay(std::chrono::nanoseconds d) noexcept { write_delay_ = d; }

    /// True once a fault injected at this end took effect: an operation failed by
    /// `fail_after` / `break_after`, or the byte limit of `eof_after` / `reset_after` was hit.
    [[nodiscard]] bool fault_struck() const noexcept { return fault_struck_; }

    /// Operations of this end counted so far by `fail_after` (writes, and reads that found
    /// bytes or the end of the pipe).
    [[nodiscard]] std::size_t operation_count() const noexcept { return operations_; }

    /// Bytes written by the other end and not read yet.
    [[nodiscard]] std::size_t available() const noexcept { return in_ ? in_->bytes.size() : 0; }

    /// Ends this end's writing: the other end reads what is left, then end of file.
    void close_write() {
        if (out_) {
            out_->eof = true;
            wake(out_);
        }
    }

    /// Breaks the pipe both ways with `ec` (like a connection reset).
    void reset(error_code ec = net::error::connection_reset) {
        for (auto const& p : {in_, out_}) {
            if (p) {
                p->reset = ec;
                wake(p);
            }
        }
    }

    /// `close()`, clearing `ec`.
    void close(error_code& ec) {
        ec = {};
        close();
    }
    /// Ends the pipe both ways: the peer reads end of file, this end's reads and writes fail.
    void close() {
        closed_ = true;
        if (in_) {
            in_->eof = true;
            wake(in_);
        }
        close_write();
    }

    /// Reads at least one byte (at most the read size). Completion signature
    /// `void(error_code, std::size_t)`; errors: end of file, the reset or injected error.
    template <class MutableBufferSequence, class Token>
    auto async_read_some(MutableBufferSequence const& buffers, Token&& token) {
        return net::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, MutableBufferSequence const& b) {
                this->start_read(std::move(handler), b);
            },
            token, buffers);
    }

    /// Writes at most the write size. Completion signature `void(error_code, std::size_t)`;
    /// errors: `asio::error::broken_pipe` once the pipe ended, or the injected error.
    template <class ConstBufferSequence, class Token>
    auto async_write_some(ConstBufferSequence const& buffers, Token&& token) {
        return net::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, ConstBufferSequence const& b) {
                std::size_t n = 0;
                error_code ec = take_failure();
                if (!ec && (closed_ || !out_ || out_->eof)) {
                    ec = net::error::broken_pipe;
                }
                if (!ec && out_->reset) {
                    ec = out_->reset;
                }
                if (!ec) {
                    std::size_t limit = write_size_;
                    for (auto it = net::buffer_sequence_begin(b);
                         it != net::buffer_sequence_end(b) && limit > 0; ++it) {
                        net::const_buffer cb(*it);
                        auto const* p = static_cast<std::byte const*>(cb.data());
                        std::size_t const k = std::min(cb.size(), limit);
                        out_->bytes.insert(out_->bytes.end(), p, p + k);
                        n += k;
                        limit -= k;
                    }
                    wake(out_);
                }
                complete(std::move(handler), ec, n, write_delay_);
            },
            token, buffers);
    }

  private:
    template <class Handler, class MutableBufferSequence>
    void start_read(Handler handler, MutableBufferSequence const& b) {
        auto attempt = [this, b,
                        h = std::make_shared<std::optional<Handler>>(std::move(handler))]() {
            if (!h->has_value()) {
                return true;
            }
            error_code ec = in_ ? in_->reset : error_code(net::error::not_connected);
            if (!ec && broken_) {
                ec = fail_error_;  // break_after struck while this read waited
            }
            bool const budget_spent = !ec && !closed_ && read_budget_ && *read_budget_ == 0;
            if (!ec && !budget_spent && in_->bytes.empty() && !in_->eof && !closed_) {
                return false;  // wait for bytes
            }
            if (!ec) {
                ec = take_failure();
            }
            std::size_t n = 0;
            if (!ec && closed_) {
                ec = net::error::operation_aborted;
            }
            if (!ec && budget_spent) {
                fault_struck_ = true;
                ec = net::error::eof;  // eof_after: the connection ends here
            }
            if (!ec) {
                std::size_t limit = read_budget_ ? std::min(read_size_, *read_budget_) : read_size_;
                for (auto it = net::buffer_sequence_begin(b);
                     it != net::buffer_sequence_end(b) && limit > 0 && !in_->bytes.empty(); ++it) {
                    net::mutable_buffer mb(*it);
                    auto* p = static_cast<std::byte*>(mb.data());
                    std::size_t const k = std::min({mb.size(), limit, in_->bytes.size()});
                    std::copy_n(in_->bytes.begin(), k, p);
                    in_->bytes.erase(in_->bytes.begin(),
                                     in_->bytes.begin() + static_cast<std::ptrdiff_t>(k));
                    n += k;
                    limit -= k;
                }
                if (n == 0) {
                    ec = net::error::eof;
                }
                if (read_budget_ && n > 0) {
                    *read_budget_ -= n;
                    if (*read_budget_ == 0 && budget_error_) {
                        strike_budget();  // reset_after: later operations fail
                    }
                }
            }
            Handler handler_now = std::move(**h);
            h->reset();
            complete(std::move(handler_now), ec, n, read_delay_);
            return true;
        };
        if (!attempt()) {
            in_->waiting_reader = attempt;
        }
    }

    void wake(std::shared_ptr<pipe> const& p) {
        if (auto f = std::exchange(p->waiting_reader, nullptr)) {
            net::post(ex_, [p, f = std::move(f)]() mutable {
                if (!f()) {
                    p->waiting_reader = std::move(f);
                }
            });
        }
    }

    error_code take_failure() {
        ++operations_;
        if (!fail_countdown_) {
            return {};
        }
        if (*fail_countdown_ == 0) {
            fault_struck_ = true;
            if (fail_breaks_reads_ && !broken_) {
                broken_ = true;
                if (in_) {
                    wake(in_);  // a read waiting for bytes fails now
                }
            }
            return fail_error_;
        }
        --*fail_countdown_;
        return {};
    }

    /// The byte limit of `reset_after` was reached.
    void strike_budget() {
        fault_struck_ = true;
        reset(budget_error_);
    }

    template <class Handler>
    void complete(Handler&& handler, error_code ec, std::size_t n,
                  std::chrono::nanoseconds delay = {}) {
        auto ex = net::get_associated_executor(handler, ex_);
        if (delay.count() <= 0) {
            net::post(
                ex, [h = std::forward<Handler>(handler), ec, n]() mutable { std::move(h)(ec, n); });
            return;
        }
        // The timer owns itself through its handler; a context destroyed meanwhile destroys
        // the handler, and with it the timer and the completion handler.
        auto timer = std::make_shared<net::steady_timer>(ex_, delay);
        timer->async_wait(
            [timer, ex, h = std::forward<Handler>(handler), ec, n](error_code) mutable {
                net::post(ex, [h = std::move(h), ec, n]() mutable { std::move(h)(ec, n); });
            });
    }

    executor_type ex_;
    std::shared_ptr<pipe> in_;
    std::shared_ptr<pipe> out_;
    std::size_t read_size_ = std::numeric_limits<std::size_t>::max();
    std::size_t write_size_ = std::numeric_limits<std::size_t>::max();
    std::optional<std::size_t> fail_countdown_;
    error_code fail_error_;
    bool fail_breaks_reads_ = false;          ///< break_after rather than fail_after
    bool broken_ = false;                     ///< break_after struck: every read fails
    std::optional<std::size_t> read_budget_;  ///< eof_after / reset_after: bytes left to read
    error_code budget_error_;                 ///< reset_after's error; empty for eof_after
    std::chrono::nanoseconds read_delay_{0};
    std::chrono::nanoseconds write_delay_{0};
    bool fault_struck_ = false;
    std::size_t operations_ = 0;
    bool closed_ = false;
};

}  // namespace smux::test

#endif
