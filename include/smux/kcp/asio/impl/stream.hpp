#ifndef SMUX_KCP_ASIO_IMPL_STREAM_HPP
#define SMUX_KCP_ASIO_IMPL_STREAM_HPP

#include <utility>

#include "smux/error.hpp"

namespace smux::kcp::detail {

/// The non-empty buffers of a sequence, as many as fit.
template <class Byte, class BufferSequence>
void take_buffers(BufferSequence const& buffers, conversation_io::op_data<Byte>& d) {
    d.count = 0;
    auto const end = net::buffer_sequence_end(buffers);
    for (auto it = net::buffer_sequence_begin(buffers); it != end && d.count < max_io_buffers;
         ++it) {
        auto const b = *it;
        if (b.size() != 0) {
            d.buffers[d.count++] = std::span<Byte>(static_cast<Byte*>(b.data()), b.size());
        }
    }
}

/** A read or write: a closed handle fails with bad_descriptor; on the strand, empty buffers
    complete at once, a second one of a kind fails with operation_in_progress, else it parks
    and the conversation completes it when it can. */
template <conversation_io::op_kind Kind>
struct initiate_io {
    template <class Handler, class BufferSequence>
    void operator()(Handler&& handler, std::shared_ptr<conversation_io> c,
                    net::any_io_executor const& ex, BufferSequence const& buffers) const {
        if (!c) {
            smux::detail::post_completion(std::forward<Handler>(handler), ex,
                                          error_code(net::error::bad_descriptor), std::size_t{0});
            return;
        }
        std::uint64_t const serial = c->next_serial();
        auto slot = net::get_associated_cancellation_slot(handler);
        if (slot.is_connected()) {
            slot.template emplace<cancel_request>(c, Kind, serial);
        }
        auto const& strand = c->strand();
        net::dispatch(strand, [c = std::move(c), serial, buffers,
                               h = std::forward<Handler>(handler)]() mutable {
            auto& op = slot_of(*c);
            if (op) {
                smux::detail::post_completion(std::move(h), c->executor(),
                                              make_error_code(error::operation_in_progress),
                                              std::size_t{0});
                return;
            }
            op.emplace(std::move(h), c->parked());
            op.data().serial = serial;
            take_buffers(buffers, op.data());
            if (op.data().count == 0) {
                op.complete(error_code{}, 0);
            } else if constexpr (Kind == conversation_io::op_kind::read) {
                c->start_read();
            } else {
                c->start_write();
            }
        });
    }

    static auto& slot_of(conversation_io& c) noexcept {
        if constexpr (Kind == conversation_io::op_kind::read) {
            return c.read_op();
        } else {
            return c.write_op();
        }
    }
};

struct initiate_connect {
    template <class Handler>
    void operator()(Handler&& handler, stream* s, stream::endpoint_type const& remote) const {
        error_code ec;
        s->connect(remote, ec);
        smux::detail::post_completion(std::forward<Handler>(handler), s->get_executor(), ec);
    }
};

}  // namespace smux::kcp::detail

namespace smux::kcp {

template <net::completion_token_for<void(error_code)> Token>
auto stream::async_connect(endpoint_type const& remote, Token&& token) {
    return net::async_initiate<Token, void(error_code)>(detail::initiate_connect{}, token, this,
                                                        remote);
}

template <class MutableBufferSequence,
          net::completion_token_for<void(error_code, std::size_t)> Token>
auto stream::async_read_some(MutableBufferSequence const& buffers, Token&& token) {
    return net::async_initiate<Token, void(error_code, std::size_t)>(
        detail::initiate_io<detail::conversation_io::op_kind::read>{}, token, impl_, get_executor(),
        buffers);
}

template <class ConstBufferSequence, net::completion_token_for<void(error_code, std::size_t)> Token>
auto stream::async_write_some(ConstBufferSequence const& buffers, Token&& token) {
    return net::async_initiate<Token, void(error_code, std::size_t)>(
        detail::initiate_io<detail::conversation_io::op_kind::write>{}, token, impl_,
        get_executor(), buffers);
}

}  // namespace smux::kcp

#endif
