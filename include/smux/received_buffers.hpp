#ifndef SMUX_RECEIVED_BUFFERS_HPP
#define SMUX_RECEIVED_BUFFERS_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

#include "smux/core/frame.hpp"
#include "smux/core/rx_buffer.hpp"
#include "smux/detail/asio_compat.hpp"
#include "smux/detail/session_driver.hpp"

namespace smux {

namespace detail {
struct receive_access;
}  // namespace detail

/** Received payload lent by a stream without a copy (`basic_stream::receive` and
    `async_receive`): views into the session's receive blocks, valid until `release()` or
    destruction, whichever comes first.

    While a caller holds them, the bytes still count against the session's receive budget
    (`config::max_receive_buffer`) and its pinned memory, and in protocol v2 the peer gets no
    window credit for them: a forwarder that has not yet passed them on slows the peer down,
    and what a peer can make this side hold stays bounded. Releasing gives the budget and the
    credit back. A forwarder writes `buffers()` on with `asio::async_write`, then releases.

    @par Thread Safety
    The handle is movable and may be released from any thread: off the session's strand the
    release is posted to it. The bytes may be read from any thread while the handle lives. */
class received_buffers {
  public:
    /// The most views one receive hands out (a read of more payload takes several receives).
    static constexpr std::size_t max_views = 16;

    received_buffers() noexcept = default;
    /// Takes over the views of `o`, which becomes empty.
    received_buffers(received_buffers&& o) noexcept { take_from(o); }
    /// Releases the views held now, then takes over those of `o`.
    received_buffers& operator=(received_buffers&& o) noexcept {
        if (this != &o) {
            release();
            take_from(o);
        }
        return *this;
    }
    received_buffers(received_buffers const&) = delete;
    received_buffers& operator=(received_buffers const&) = delete;
    ~received_buffers() { release(); }

    /// The bytes as a ConstBufferSequence (empty after `release`).
    [[nodiscard]] std::span<net::const_buffer const> buffers() const noexcept {
        return {views_.data(), count_};
    }
    /// Bytes lent (0 after `release`).
    [[nodiscard]] std::size_t size() const noexcept { return bytes_; }
    /// True when no byte is lent (nothing was received, or after `release`).
    [[nodiscard]] bool empty() const noexcept { return bytes_ == 0; }

    /// Hands the bytes back to the session (budget and credit); the views become invalid.
    void release() noexcept {
        if (!session_) {
            return;
        }
        auto s = std::move(session_);
        count_ = 0;
        bytes_ = 0;
        if (s->strand().running_in_this_thread()) {
            s->release_lent(id_, chunks_);
            return;
        }
        // The blocks' reference counts belong to the strand: the views travel there.
        auto const& strand = s->strand();
        net::post(strand, [s = std::move(s), id = id_, chunks = std::move(chunks_)]() mutable {
            s->release_lent(id, chunks);
        });
    }

  private:
    friend struct detail::receive_access;

    void take_from(received_buffers& o) noexcept {
        session_ = std::move(o.session_);
        id_ = o.id_;
        count_ = std::exchange(o.count_, 0);
        bytes_ = std::exchange(o.bytes_, 0);
        chunks_ = std::move(o.chunks_);
        views_ = o.views_;
    }

    std::shared_ptr<detail::session_driver> session_;
    core::stream_id id_ = 0;
    std::uint32_t count_ = 0;
    std::size_t bytes_ = 0;
    std::array<core::rx_chunk, max_views> chunks_{};
    std::array<net::const_buffer, max_views> views_{};
};

namespace detail {

/// Fills a `received_buffers` from the engine (basic_stream's receive and async_receive).
struct receive_access {
    static received_buffers receive_now(std::shared_ptr<session_driver> const& s, stream_ops& st,
                                        std::size_t max_bytes, error_code& ec) {
        received_buffers out;
        auto const r = s->take_now(st, max_bytes, out.chunks_);
        ec = r.ec;
        if (r.bytes == 0) {
            return out;
        }
        out.session_ = s;
        out.id_ = st.id;
        out.bytes_ = r.bytes;
        for (core::rx_chunk const& c : out.chunks_) {
            if (!c.buffer) {
                break;
            }
            out.views_[out.count_++] = net::const_buffer(c.buffer->data() + c.offset, c.length);
        }
        return out;
    }
};

}  // namespace detail

}  // namespace smux

#endif
