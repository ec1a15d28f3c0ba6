#ifndef SMUX_KCP_ASIO_IMPL_LISTENER_HPP
#define SMUX_KCP_ASIO_IMPL_LISTENER_HPP

#include <utility>

#include "smux/error.hpp"
#include "smux/kcp/asio/detail/listener_impl.hpp"

namespace smux::kcp::detail {

struct initiate_accept {
    template <class Handler>
    void operator()(Handler&& handler, std::shared_ptr<listener_impl> l) const {
        if (!l) {  // moved from
            auto ex = net::get_associated_executor(handler, net::system_executor());
            smux::detail::post_completion(std::forward<Handler>(handler), ex,
                                          error_code(net::error::bad_descriptor),
                                          stream(ex, options{}));
            return;
        }
        std::uint64_t const serial = l->next_serial();
        auto slot = net::get_associated_cancellation_slot(handler);
        if (slot.is_connected()) {
            slot.template emplace<cancel_accept_request>(l, serial);
        }
        auto const& strand = l->strand();
        net::dispatch(
            strand, [l = std::move(l), serial, h = std::forward<Handler>(handler)]() mutable {
                if (l->accept_op()) {
                    smux::detail::post_completion(std::move(h), l->executor(),
                                                  make_error_code(error::operation_in_progress),
                                                  stream(l->executor(), options{}));
                    return;
                }
                l->accept_op().emplace(std::move(h), l->parked());
                l->accept_op().data().serial = serial;
                l->start_accept();
            });
    }
};

}  // namespace smux::kcp::detail

namespace smux::kcp {

template <net::completion_token_for<void(error_code, stream)> Token>
auto listener::async_accept(Token&& token) {
    return net::async_initiate<Token, void(error_code, stream)>(detail::initiate_accept{}, token,
                                                                impl_);
}

}  // namespace smux::kcp

#endif
