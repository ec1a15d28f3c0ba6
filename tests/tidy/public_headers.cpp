// Every public header of include/smux, with the templates in them instantiated over each
// transport and each kind of completion token the library supports, in one translation unit
// that scripts/tidy.sh hands to clang-tidy: code in a header is only analysed where a source
// file instantiates it, and src/ instantiates little of the Asio front end. Compiled by
// clang-tidy only (target smux_tidy_headers is not built by default); nothing here runs.
// The impl/ headers are parts of the headers that include them at their end, not headers of
// their own.
#include <array>
#include <cstddef>
#include <span>
#include <utility>

#include <asio/awaitable.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "smux/config.hpp"
#include "smux/core/frame.hpp"
#include "smux/core/intrusive_list.hpp"
#include "smux/core/rx_buffer.hpp"
#include "smux/core/session.hpp"
#include "smux/counters.hpp"
#include "smux/detail/asio_compat.hpp"
#include "smux/detail/counters_snapshot.hpp"
#include "smux/detail/op_slot.hpp"
#include "smux/detail/session_driver.hpp"
#include "smux/detail/session_registry.hpp"
#include "smux/detail/stream_ops.hpp"
#include "smux/detail/transport.hpp"
#include "smux/error.hpp"
#include "smux/fwd.hpp"
#include "smux/kcp/asio/compressed_stream.hpp"
#include "smux/kcp/asio/detail/conversation_io.hpp"
#include "smux/kcp/asio/detail/listener_impl.hpp"
#include "smux/kcp/asio/detail/teardown.hpp"
#include "smux/kcp/asio/listener.hpp"
#include "smux/kcp/asio/options.hpp"
#include "smux/kcp/asio/stream.hpp"
#include "smux/kcp/conversation.hpp"
#include "smux/kcp/crypt.hpp"
#include "smux/kcp/encrypt_queue.hpp"
#include "smux/kcp/engine.hpp"
#include "smux/kcp/fec_autotune.hpp"
#include "smux/kcp/fec_codec.hpp"
#include "smux/kcp/fec_decoder.hpp"
#include "smux/kcp/fec_encoder.hpp"
#include "smux/kcp/mtu.hpp"
#include "smux/kcp/nonce.hpp"
#include "smux/kcp/packet.hpp"
#include "smux/kcp/segment.hpp"
#include "smux/kcp/snappy_frame.hpp"
#include "smux/kcp/snappy_frame_decoder.hpp"
#include "smux/received_buffers.hpp"
#include "smux/session.hpp"
#include "smux/smux.hpp"
#include "smux/ssl.hpp"
#include "smux/stream.hpp"
#include "smux/test/duplex_stream.hpp"
#include "smux/version.hpp"

namespace smux_tidy {

using smux::error_code;

/// Reads and writes of any AsyncReadStream/AsyncWriteStream, with a plain callback and with a
/// cancellation slot (the per-operation cancellation paths).
template <class Stream>
void read_and_write(Stream& s, std::span<std::byte> buf, asio::cancellation_signal& cancel) {
    s.async_read_some(asio::buffer(buf.data(), buf.size()), [](error_code, std::size_t) {});
    s.async_read_some(asio::buffer(buf.data(), buf.size()),
                      asio::bind_cancellation_slot(cancel.slot(), [](error_code, std::size_t) {}));
    s.async_write_some(asio::buffer(buf.data(), buf.size()), [](error_code, std::size_t) {});
    s.async_write_some(asio::buffer(buf.data(), buf.size()),
                       asio::bind_cancellation_slot(cancel.slot(), [](error_code, std::size_t) {}));
    asio::async_read(s, asio::buffer(buf.data(), buf.size()), asio::transfer_all(),
                     [](error_code, std::size_t) {});
    asio::async_write(s, asio::buffer(buf.data(), buf.size()), asio::transfer_all(),
                      [](error_code, std::size_t) {});
}

/// Everything a smux stream does besides reading and writing.
template <class Executor>
void stream_operations(smux::basic_stream<Executor>& s, std::span<std::byte> buf,
                       asio::cancellation_signal& cancel) {
    read_and_write(s, buf, cancel);
    using stream_type = smux::basic_stream<Executor>;
    s.async_wait(stream_type::wait_read, [](error_code) {});
    s.async_wait(stream_type::wait_read,
                 asio::bind_cancellation_slot(cancel.slot(), [](error_code) {}));
    s.async_receive(buf.size(), [](error_code, smux::received_buffers r) { r.release(); });
    s.async_receive(buf.size(), asio::bind_cancellation_slot(
                                    cancel.slot(), [](error_code, smux::received_buffers) {}));
    error_code ec;
    std::size_t const n = s.read_some(asio::buffer(buf.data(), buf.size()), ec);
    smux::received_buffers lent = s.receive(n, ec);
    static_cast<void>(lent.buffers());
    static_cast<void>(s.available(ec));
    static_cast<void>(s.stats(ec));
    s.shutdown_send();
    s.cancel();
    s.close(ec);
}

/// Every operation of a session, and those of the streams it hands out.
template <class Session>
void session_operations(Session& session, std::span<std::byte> buf,
                        asio::cancellation_signal& cancel) {
    using stream_type = typename Session::stream_type;
    session.async_open_stream(
        [buf, &cancel](error_code, stream_type s) { stream_operations(s, buf, cancel); });
    session.async_accept_stream([](error_code, stream_type) {});
    session.async_accept_stream(
        asio::bind_cancellation_slot(cancel.slot(), [](error_code, stream_type) {}));
    session.async_wait_closed([](error_code) {});
    session.async_wait_closed(asio::bind_cancellation_slot(cancel.slot(), [](error_code) {}));
    session.async_shutdown([](error_code) {});
    static_cast<void>(session.stats());
    static_cast<void>(session.terminal_error());
    static_cast<void>(session.is_open());
    session.close();
}

/// Coroutines: use_awaitable, and sessions and streams with it as their default token.
asio::awaitable<void> coroutine_operations(smux::tcp_session& session, std::span<std::byte> buf) {
    smux::stream s = co_await session.async_accept_stream(asio::use_awaitable);
    std::size_t const n =
        co_await s.async_read_some(asio::buffer(buf.data(), buf.size()), asio::use_awaitable);
    co_await asio::async_write(s, asio::buffer(buf.data(), n), asio::use_awaitable);
    co_await s.async_wait(smux::stream::wait_read, asio::use_awaitable);
    smux::received_buffers lent = co_await s.async_receive(buf.size(), asio::use_awaitable);
    lent.release();
    co_await session.async_shutdown(asio::use_awaitable);
}

using awaitable_session = asio::use_awaitable_t<>::as_default_on_t<smux::local_session>;

asio::awaitable<void> default_token_operations(awaitable_session& session,
                                               std::span<std::byte> buf) {
    awaitable_session::stream_type s = co_await session.async_open_stream();
    co_await s.async_write_some(asio::buffer(buf.data(), buf.size()));
    co_await session.async_wait_closed();
}

/// TLS inside one smux stream: Asio's composed operations drive the stream.
void tls_inside_a_stream(smux::stream s, asio::ssl::context& tls, std::span<std::byte> buf,
                         asio::cancellation_signal& cancel) {
    asio::ssl::stream<smux::stream> inner(std::move(s), tls);
    inner.async_handshake(asio::ssl::stream_base::client, [](error_code) {});
    read_and_write(inner, buf, cancel);
}

/// The KCP transport alone: client, listener, kcptun's compression on top.
void kcp_operations(asio::io_context& io, smux::kcp::options const& opts, std::span<std::byte> buf,
                    asio::cancellation_signal& cancel) {
    smux::kcp::listener listener(io.get_executor(), {asio::ip::udp::v4(), 0}, opts);
    listener.async_accept([](error_code, smux::kcp::stream) {});
    listener.async_accept(
        asio::bind_cancellation_slot(cancel.slot(), [](error_code, smux::kcp::stream) {}));
    static_cast<void>(listener.stats());
    smux::kcp::stream client(io.get_executor(), opts);
    client.async_connect(listener.local_endpoint(), [](error_code) {});
    read_and_write(client, buf, cancel);
    static_cast<void>(client.stats());
    smux::kcp::compressed_stream<smux::kcp::stream> compressed(io.get_executor(), opts);
    read_and_write(compressed, buf, cancel);
    listener.close();
}

/// A session over each transport the library supports.
void sessions(asio::io_context& io, asio::ssl::context& tls, smux::kcp::options const& opts,
              std::span<std::byte> buf, asio::cancellation_signal& cancel) {
    smux::tcp_session over_tcp(smux::role::client, asio::ip::tcp::socket(io));
    session_operations(over_tcp, buf, cancel);

    smux::local_session over_unix(smux::role::server, smux::config{}, std::in_place, io);
    session_operations(over_unix, buf, cancel);
    awaitable_session with_default_token =
        asio::use_awaitable_t<>::as_default_on(std::move(over_unix));
    session_operations(with_default_token, buf, cancel);

    auto ends = smux::test::duplex_stream::make_pair(io.get_executor());
    ends.first.set_read_size(1);
    smux::basic_session<smux::test::duplex_stream> in_memory(smux::role::client,
                                                             std::move(ends.first));
    session_operations(in_memory, buf, cancel);

    smux::ssl_session<> over_tls(smux::role::client, smux::config{}, std::in_place,
                                 asio::ip::tcp::socket(io), tls);
    session_operations(over_tls, buf, cancel);

    smux::basic_session<smux::kcp::stream> over_kcp(smux::role::client,
                                                    smux::kcp::stream(io.get_executor(), opts));
    session_operations(over_kcp, buf, cancel);

    smux::basic_session<smux::kcp::compressed_stream<smux::kcp::stream>> over_kcptun(
        smux::role::client, smux::config{}, std::in_place, io.get_executor(), opts);
    session_operations(over_kcptun, buf, cancel);
}

}  // namespace smux_tidy
