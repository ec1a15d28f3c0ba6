#ifndef SMUX_DETAIL_TRANSPORT_HPP
#define SMUX_DETAIL_TRANSPORT_HPP

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>

#include "smux/detail/asio_compat.hpp"
#include "smux/detail/session_driver.hpp"

namespace smux::detail {

template <class T>
concept has_lowest_layer = requires(T& t) {
    t.lowest_layer();
};

/// A stream with a closing handshake of its own (`asio::ssl::stream`: close_notify).
template <class T>
concept has_async_shutdown = requires(T& t) {
    t.async_shutdown([](error_code) {});
};

/// A TLS stream as Asio's `ssl::stream`: a handshake, and data sent in records.
template <class T>
concept tls_stream = has_async_shutdown<T> && requires(T& t) {
    t.handshake(T::client);
};

/// The layer to close when the session ends: the socket under a TLS stream, or the stream.
template <class Stream>
auto& lowest_layer_of(Stream& s) noexcept {
    if constexpr (has_lowest_layer<Stream>) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(s.lowest_layer())>, Stream>) {
            return s;
        } else {
            return lowest_layer_of(s.lowest_layer());
        }
    } else {
        return s;
    }
}

/** A session over a concrete Asio stream: the only part of the driver that is a template.
    It owns the stream and runs its operations on the session's strand. */
template <class NextLayer>
class transport_session final : public session_driver {
  public:
    template <class... Args>
    transport_session(core::role r, config const& cfg, Args&&... args)
        : session_driver(r, cfg, first_executor(args...)), next_(std::forward<Args>(args)...) {}

    [[nodiscard]] NextLayer& next_layer() noexcept { return next_; }

  private:
    template <class First, class... Rest>
    static net::any_io_executor first_executor(First& first, Rest&...) {
        if constexpr (requires { first.get_executor(); }) {
            return first.get_executor();
        } else {
            return first;  // an executor or execution context given to construct the stream
        }
    }

    void transport_read(net::mutable_buffer buffer) override {
        auto done =
            net::bind_executor(strand_, [self = shared_from_this()](error_code ec, std::size_t n) {
                static_cast<transport_session&>(*self).on_read_done(ec, n);
            });
        if constexpr (has_async_shutdown<NextLayer>) {
            // A TLS read may start socket reads of its own (records that carry no data):
            // only its cancellation slot ends it for sure before the closing handshake.
            next_.async_read_some(
                buffer, net::bind_cancellation_slot(read_cancel_.slot(), std::move(done)));
        } else {
            next_.async_read_some(buffer, std::move(done));
        }
    }

    // One write_some per batch: the whole gather list goes to one sendmsg (async_write would
    // cut it into 64 KiB calls), and the engine learns at once how much left.
    void transport_write(std::span<net::const_buffer const> buffers) override {
        auto done =
            net::bind_executor(strand_, [self = shared_from_this()](error_code ec, std::size_t n) {
                static_cast<transport_session&>(*self).on_write_done(ec, n);
            });
        if constexpr (tls_stream<NextLayer>) {
            next_.async_write_some(one_tls_record(buffers), std::move(done));
        } else {
            next_.async_write_some(buffers, std::move(done));
        }
    }

    /// A TLS record carries up to 16 KiB of data.
    static constexpr std::size_t tls_record_data = 16384;

    /** What one TLS write_some should encrypt: a full record where the batch has one. Asio's
        ssl::stream encrypts a single buffer per write_some: the first of a gather list, or the
        list copied into 8 KiB, so a batch of frames (8-byte headers between payloads) would
        leave in 8 KiB records, twice the records and per-record costs for the same bytes.
        A first buffer of a record or more goes as it is; otherwise the first 16 KiB of the
        list are gathered here. Either way the bytes written are a prefix of the batch. */
    net::const_buffer one_tls_record(std::span<net::const_buffer const> buffers) {
        if (!buffers.empty() && buffers.front().size() >= tls_record_data) {
            return buffers.front();
        }
        if (!tls_record_) {
            tls_record_ = std::make_unique<std::array<std::byte, tls_record_data>>();
        }
        std::size_t const n = net::buffer_copy(net::buffer(*tls_record_), buffers);
        return net::buffer(tls_record_->data(), n);
    }

    void transport_close() noexcept override {
        error_code ignored;
        lowest_layer_of(next_).close(ignored);
    }

    [[nodiscard]] bool transport_can_end_gracefully() const noexcept override {
        return has_async_shutdown<NextLayer>;
    }

    void transport_cancel_read() noexcept override {
        read_cancel_.emit(net::cancellation_type::terminal);
    }

    // TLS: close_notify, then the peer's answer or its close (bounded by the driver's
    // deadline), then the socket is closed.
    void transport_end_gracefully() override {
        if constexpr (has_async_shutdown<NextLayer>) {
            next_.async_shutdown(
                net::bind_executor(strand_, [self = shared_from_this()](error_code) {
                    static_cast<transport_session&>(*self).close_transport_now();
                }));
        }
    }

    NextLayer next_;
    net::cancellation_signal read_cancel_;  ///< TLS: ends the pending read (see transport_read)
    /// TLS: the record being written when a batch's first buffer is short (one_tls_record);
    /// made at the first such write, kept while the write is in progress and after.
    std::unique_ptr<std::array<std::byte, tls_record_data>> tls_record_;
};

}  // namespace smux::detail

#endif
