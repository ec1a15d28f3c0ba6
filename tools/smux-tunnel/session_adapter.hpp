#ifndef SMUX_TOOLS_TUNNEL_SESSION_ADAPTER_HPP
#define SMUX_TOOLS_TUNNEL_SESSION_ADAPTER_HPP

// smux::basic_session<Next> behind the mux_session interface, for any carrier `Next`.

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <smux/session.hpp>
#include <string>
#include <utility>

#include "transport.hpp"

namespace smux_tunnel {

/// What a carrier knows of its peer before the smux layer can tell.
enum class peer_state {
    heard,    ///< the peer answered: nothing more to watch
    waiting,  ///< not yet: look again in a second
    silent,   ///< never answered for too long: end the session (`silence_reason` says why)
};

template <class Next>
class session_adapter : public mux_session {
  public:
    session_adapter(smux::role r, Next next, smux::config const& cfg, std::string name)
        : session_(r, std::move(next), cfg),
          name_(std::move(name)),
          timer_(session_.get_executor()) {}

    asio::awaitable<stream_result> open_stream() override {
        co_return co_await session_.async_open_stream(as_tuple());
    }

    asio::awaitable<stream_result> accept_stream() override {
        co_return co_await session_.async_accept_stream(as_tuple());
    }

    /// Polls `check_peer` once a second while it says `waiting` (a carrier has no event for
    /// "nothing arrived"), then waits for the end alone.
    asio::awaitable<session_end> supervise() override {
        using namespace asio::experimental::awaitable_operators;
        for (;;) {
            peer_state const state = check_peer();
            if (state == peer_state::silent && session_.is_open()) {
                session_.close();
                co_return session_end{silence_reason(), false, false};
            }
            if (state == peer_state::heard) {
                break;
            }
            timer_.expires_after(std::chrono::seconds(1));
            auto ended =
                co_await (session_.async_wait_closed(as_tuple()) || timer_.async_wait(as_tuple()));
            if (ended.index() == 0) {
                auto const ec = std::get<0>(std::get<0>(ended));
                // A frame the session refused came from the peer too.
                bool const heard =
                    check_peer() == peer_state::heard || ec == smux::condition::protocol_violation;
                co_return session_end{describe_end(ec), heard, closed_here(ec)};
            }
        }
        auto [ec] = co_await session_.async_wait_closed(as_tuple());
        co_return session_end{describe_end(ec), true, closed_here(ec)};
    }

    [[nodiscard]] bool is_open() const override { return session_.is_open(); }
    void close() override { session_.close(); }
    [[nodiscard]] std::string const& name() const override { return name_; }

  protected:
    /// Carriers that can tell an absent peer override these (called on the session's thread).
    virtual peer_state check_peer() { return peer_state::heard; }
    [[nodiscard]] virtual std::string silence_reason() const { return "the peer never answered"; }

    /// The connection under the session; touch it on the session's strand only.
    Next& carrier() noexcept { return session_.next_layer(); }

  private:
    static constexpr auto as_tuple() { return asio::experimental::as_tuple(asio::use_awaitable); }

    smux::basic_session<Next> session_;
    std::string name_;
    asio::steady_timer timer_;
};

}  // namespace smux_tunnel

#endif
