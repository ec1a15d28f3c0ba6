#ifndef SMUX_KCP_ASIO_COMPRESSED_STREAM_HPP
#define SMUX_KCP_ASIO_COMPRESSED_STREAM_HPP

#include <asio/compose.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "smux/detail/asio_compat.hpp"
#include "smux/kcp/snappy_frame.hpp"
#include "smux/kcp/snappy_frame_decoder.hpp"

namespace smux::kcp {

/** kcptun's compression layer (its CompStream, KCP.md §5) as an Asio stream over any
    AsyncReadStream + AsyncWriteStream, e.g. `basic_session<compressed_stream<tcp::socket>>`.

    A write is golang/snappy's framing of the caller's bytes (the whole buffer sequence as one
    write: 65536-byte chunks, then the rest), sent in full before it completes with the
    caller's byte count, as kcptun flushes after every write. A read returns decompressed
    bytes, reading the next layer as needed; a framing error is a `snappy_error`, and the next
    layer's end of file inside a chunk is `snappy_error::truncated_stream`.

    One read and one write may be pending at once (as on a socket). Reads pass every kind of
    cancellation to the next layer (bytes already read stay buffered, so nothing is lost);
    writes pass terminal cancellation only (a cancelled write may leave half a chunk on the
    wire, after which the stream is unusable). Memory: about 280 KB once both directions ran
    (one chunk each way in and out, as golang/snappy's Reader and buffered Writer). Must not be
    moved while an operation is pending. */
template <class NextLayer>
class compressed_stream {
  public:
    /// The stream under the compression.
    using next_layer_type = std::remove_reference_t<NextLayer>;
    /// The next layer's executor type.
    using executor_type = typename next_layer_type::executor_type;

    /// Constructs the next layer from `args` (e.g. a connected socket).
    template <class Arg, class... Args>
    requires(!std::is_same_v<std::remove_cvref_t<Arg>,
                             compressed_stream>) explicit compressed_stream(Arg&& arg,
                                                                            Args&&... args)
        : next_(std::forward<Arg>(arg), std::forward<Args>(args)...) {}

    /// Moves the stream; not while an operation is pending.
    compressed_stream(compressed_stream&&) noexcept(
        std::is_nothrow_move_constructible_v<NextLayer>) = default;
    /// Moves the stream; not while an operation is pending.
    compressed_stream& operator=(compressed_stream&&) noexcept(
        std::is_nothrow_move_assignable_v<NextLayer>) = default;

    /// The next layer's executor.
    [[nodiscard]] executor_type get_executor() noexcept { return next_.get_executor(); }
    /// The stream under the compression.
    [[nodiscard]] next_layer_type& next_layer() noexcept { return next_; }
    /// The stream under the compression.
    [[nodiscard]] next_layer_type const& next_layer() const noexcept { return next_; }

    /// The socket under the next layer (what a session closes when it ends).
    decltype(auto) lowest_layer() noexcept requires requires(next_layer_type& n) {
        n.lowest_layer();
    }
    { return next_.lowest_layer(); }

    /// For next layers without lowest_layer(): closes the next layer.
    void close(std::error_code& ec) requires requires(next_layer_type& n, std::error_code& e) {
        n.close(e);
    }
    { next_.close(ec); }

    /// Reads decompressed bytes. Signature: void(error_code, std::size_t).
    template <class MutableBufferSequence,
              net::completion_token_for<void(std::error_code, std::size_t)> Token =
                  net::default_completion_token_t<executor_type>>
    auto async_read_some(MutableBufferSequence const& buffers,
                         Token&& token = net::default_completion_token_t<executor_type>()) {
        return net::async_compose<Token, void(std::error_code, std::size_t)>(
            read_op<MutableBufferSequence>{this, buffers}, token, next_);
    }

    /// Compresses and sends all of `buffers`. Signature: void(error_code, std::size_t).
    template <class ConstBufferSequence,
              net::completion_token_for<void(std::error_code, std::size_t)> Token =
                  net::default_completion_token_t<executor_type>>
    auto async_write_some(ConstBufferSequence const& buffers,
                          Token&& token = net::default_completion_token_t<executor_type>()) {
        return net::async_compose<Token, void(std::error_code, std::size_t)>(
            write_op<ConstBufferSequence>{this, buffers, net::buffer_size(buffers)}, token, next_);
    }

  private:
    enum class phase { initial, resumed, waiting };

    template <class Buffers>
    struct read_op;
    template <class Buffers>
    struct write_op;

    /// The next chunk of a write from byte `offset` of `buffers`: at most 65536 bytes, taken
    /// in place when one buffer holds them all, else gathered.
    template <class Buffers>
    std::span<std::byte const> encode_next(Buffers const& buffers, std::size_t offset,
                                           std::size_t left, std::size_t& taken);

    NextLayer next_;
    snappy_frame_decoder decoder_;
    snappy_frame_encoder encoder_;
    std::vector<std::byte> gather_;  ///< a chunk's bytes from several buffers
};

template <class NextLayer>
template <class Buffers>
struct compressed_stream<NextLayer>::read_op {
    compressed_stream* stream;
    Buffers buffers;
    phase state = phase::initial;
    std::error_code read_error{};

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}, std::size_t n = 0) {
        auto& decoder = stream->decoder_;
        if (state == phase::initial) {
            // Bytes read stay in the decoder, so any cancellation loses nothing.
            self.reset_cancellation_state(net::enable_total_cancellation());
        } else if (state == phase::waiting) {
            decoder.commit(n);
            read_error = ec;  // reported once the bytes that came with it are delivered
        }
        std::error_code framing;
        auto const ready = decoder.data(framing);
        bool const empty_request = net::buffer_size(buffers) == 0;
        if (framing || !ready.empty() || empty_request || read_error) {
            if (state == phase::initial) {
                state = phase::resumed;  // never complete inside the initiating function
                return net::post(std::move(self));
            }
            return finish(self, framing, ready);
        }
        state = phase::waiting;
        auto const space = decoder.prepare();
        stream->next_.async_read_some(net::buffer(space.data(), space.size()), std::move(self));
    }

    template <class Self>
    void finish(Self& self, std::error_code framing, std::span<std::byte const> ready) {
        if (framing) {
            return self.complete(framing, 0);
        }
        if (!ready.empty() || !read_error) {
            std::size_t const n =
                net::buffer_copy(buffers, net::buffer(ready.data(), ready.size()));
            stream->decoder_.consume(n);
            return self.complete({}, n);
        }
        if (read_error == net::error::eof && stream->decoder_.mid_chunk()) {
            return self.complete(snappy_error::truncated_stream, 0);
        }
        self.complete(read_error, 0);
    }
};

template <class NextLayer>
template <class Buffers>
struct compressed_stream<NextLayer>::write_op {
    compressed_stream* stream;
    Buffers buffers;
    std::size_t total;
    std::size_t sent = 0;   ///< caller's bytes whose chunks are on the wire
    std::size_t chunk = 0;  ///< caller's bytes in the chunk being written
    phase state = phase::initial;

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}, std::size_t = 0) {
        if (state == phase::waiting) {
            if (ec) {
                return self.complete(ec, sent);
            }
            sent += chunk;
        } else if (state == phase::initial && total == 0) {
            state = phase::resumed;  // never complete inside the initiating function
            return net::post(std::move(self));
        }
        if (sent == total) {
            return self.complete({}, total);
        }
        auto const wire = stream->encode_next(buffers, sent, total - sent, chunk);
        state = phase::waiting;
        net::async_write(stream->next_, net::buffer(wire.data(), wire.size()), std::move(self));
    }
};

template <class NextLayer>
template <class Buffers>
std::span<std::byte const> compressed_stream<NextLayer>::encode_next(Buffers const& buffers,
                                                                     std::size_t offset,
                                                                     std::size_t left,
                                                                     std::size_t& taken) {
    taken = std::min(left, snappy_max_block);
    std::size_t gathered = 0;
    auto const end = net::buffer_sequence_end(buffers);
    for (auto it = net::buffer_sequence_begin(buffers); it != end && gathered < taken; ++it) {
        net::const_buffer b(*it);
        if (offset >= b.size()) {
            offset -= b.size();
            continue;
        }
        b += offset;
        offset = 0;
        std::size_t const n = std::min(b.size(), taken - gathered);
        auto const* const data = static_cast<std::byte const*>(b.data());
        if (gathered == 0 && n == taken) {
            return encoder_.encode_chunk({data, n});  // one buffer holds the chunk: no copy
        }
        gather_.resize(snappy_max_block);
        std::memcpy(gather_.data() + gathered, data, n);
        gathered += n;
    }
    return encoder_.encode_chunk(std::span<std::byte const>(gather_).first(taken));
}

}  // namespace smux::kcp

#endif
