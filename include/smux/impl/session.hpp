#ifndef SMUX_IMPL_SESSION_HPP
#define SMUX_IMPL_SESSION_HPP

#include <memory>
#include <utility>

#include "smux/detail/op_slot.hpp"
#include "smux/impl/stream.hpp"

namespace smux::detail {

struct initiate_open_stream {
    template <class Handler>
    void operator()(Handler&& handler, std::shared_ptr<session_driver> s) const {
        auto const& strand = s->strand();
        net::dispatch(strand, [s = std::move(s), h = std::forward<Handler>(handler)]() mutable {
            error_code ec;
            auto opened = s->open_stream(ec);
            post_completion(std::move(h), s->executor(), ec,
                            opened ? std::move(*opened) : stream{});
        });
    }
};

struct initiate_accept_stream {
    template <class Handler>
    void operator()(Handler&& handler, std::shared_ptr<session_driver> s) const {
        std::uint64_t const serial = install_cancellation(handler, *s, op_kind::accept, 0);
        auto const& strand = s->strand();
        net::dispatch(strand,
                      [s = std::move(s), serial, h = std::forward<Handler>(handler)]() mutable {
                          error_code ec;
                          auto accepted = s->try_accept(ec);
                          if (accepted || ec) {
                              post_completion(std::move(h), s->executor(), ec,
                                              accepted ? std::move(*accepted) : stream{});
                              return;
                          }
                          s->park_accept(serial).emplace(std::move(h), s->parked());
                      });
    }
};

struct initiate_wait_closed {
    template <class Handler>
    void operator()(Handler&& handler, std::shared_ptr<session_driver> s) const {
        std::uint64_t const serial = install_cancellation(handler, *s, op_kind::wait_closed, 0);
        auto const& strand = s->strand();
        net::dispatch(strand,
                      [s = std::move(s), serial, h = std::forward<Handler>(handler)]() mutable {
                          if (auto ec = s->terminal_error()) {
                              post_completion(std::move(h), s->executor(), *ec);
                              return;
                          }
                          s->park_wait_closed(serial).emplace(std::move(h), s->parked());
                      });
    }
};

struct initiate_shutdown {
    template <class Handler>
    void operator()(Handler&& handler, std::shared_ptr<session_driver> s) const {
        auto const& strand = s->strand();
        net::dispatch(strand, [s = std::move(s), h = std::forward<Handler>(handler)]() mutable {
            s->park_shutdown().emplace(std::move(h), s->parked());
            s->begin_shutdown();
        });
    }
};

}  // namespace smux::detail

namespace smux {

template <class NextLayer, class Executor>
template <net::completion_token_for<void(error_code, basic_stream<Executor>)> Token>
auto basic_session<NextLayer, Executor>::async_open_stream(Token&& token) {
    return net::async_initiate<Token, void(error_code, stream_type)>(
        detail::initiate_open_stream{}, token, std::shared_ptr<detail::session_driver>(impl_));
}

template <class NextLayer, class Executor>
template <net::completion_token_for<void(error_code, basic_stream<Executor>)> Token>
auto basic_session<NextLayer, Executor>::async_accept_stream(Token&& token) {
    return net::async_initiate<Token, void(error_code, stream_type)>(
        detail::initiate_accept_stream{}, token, std::shared_ptr<detail::session_driver>(impl_));
}

template <class NextLayer, class Executor>
template <net::completion_token_for<void(error_code)> Token>
auto basic_session<NextLayer, Executor>::async_wait_closed(Token&& token) {
    return net::async_initiate<Token, void(error_code)>(
        detail::initiate_wait_closed{}, token, std::shared_ptr<detail::session_driver>(impl_));
}

template <class NextLayer, class Executor>
template <net::completion_token_for<void(error_code)> Token>
auto basic_session<NextLayer, Executor>::async_shutdown(Token&& token) {
    return net::async_initiate<Token, void(error_code)>(
        detail::initiate_shutdown{}, token, std::shared_ptr<detail::session_driver>(impl_));
}

template <class NextLayer, class Executor>
void basic_session<NextLayer, Executor>::close() noexcept {
    if (!impl_) {
        return;
    }
    std::shared_ptr<detail::session_driver> s = impl_;
    auto const& strand = s->strand();
    try {
        net::post(strand, [s] { s->close(make_error_code(error::session_closed)); });
    } catch (...) {
        // Out of memory: the session still ends when its connection does.
    }
}

}  // namespace smux

#endif
