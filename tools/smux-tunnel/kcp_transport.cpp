#include "kcp_transport.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/this_coro.hpp>
#include <cstdio>
#include <optional>
#include <smux/kcp/asio/compressed_stream.hpp>
#include <smux/kcp/asio/listener.hpp>
#include <smux/kcp/asio/stream.hpp>
#include <system_error>

#include "address.hpp"
#include "session_adapter.hpp"

namespace smux_tunnel {

namespace {

using clock = std::chrono::steady_clock;
using compressed = smux::kcp::compressed_stream<smux::kcp::stream>;

constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

/// How long a new client conversation may send without one valid datagram back before it is
/// given up: a kcptun server answers every datagram with an ACK within its interval (at
/// most 40 ms), so seconds of silence mean it is down or drops everything (another key).
constexpr auto reply_timeout = std::chrono::seconds(5);

smux::kcp::stream& kcp_layer(smux::kcp::stream& s) {
    return s;
}
smux::kcp::stream& kcp_layer(compressed& s) {
    return s.next_layer();
}

std::string conv_name(std::uint32_t conv) {
    char text[16];
    std::snprintf(text, sizeof text, "0x%08x", conv);
    return text;
}

/** A KCP session. A client's watches for the server's first valid datagram: KCP has no
    handshake, and a server with another key drops everything without a reply. */
template <class Next>
class kcp_session final : public session_adapter<Next> {
  public:
    kcp_session(smux::role r, Next next, smux::config const& cfg, std::string name,
                std::string remote)
        : session_adapter<Next>(r, std::move(next), cfg, std::move(name)),
          remote_(std::move(remote)),
          watch_(r == smux::role::client) {}

    /// A closed conversation reports zeros: the last counts seen stay.
    link_counters link() override {
        auto const stats = kcp_layer(this->carrier()).stats();
        last_link_.retransmits = std::max(last_link_.retransmits, stats.kcp.retransmits);
        last_link_.fec_recovered = std::max(last_link_.fec_recovered, stats.packets.fec_recovered);
        return last_link_;
    }

  private:
    peer_state check_peer() override {
        if (!watch_) {
            return peer_state::heard;  // a listener's conversation starts with a datagram
        }
        // One thread runs the tool, so the conversation's strand is this thread.
        auto const stats = kcp_layer(this->carrier()).stats();
        if (stats.kcp.datagrams_in > 0) {
            return peer_state::heard;
        }
        if (stats.kcp.datagrams_out == 0) {
            return peer_state::waiting;  // nothing sent yet: nothing to answer
        }
        auto const now = clock::now();
        if (!first_sent_) {
            first_sent_ = now;
        }
        return now - *first_sent_ >= reply_timeout ? peer_state::silent : peer_state::waiting;
    }

    [[nodiscard]] std::string silence_reason() const override {
        return "no valid datagram from " + remote_ + " in " +
               std::to_string(reply_timeout.count()) +
               " s: is the server running, and do --key and --crypt match its own?";
    }

    std::string remote_;
    bool watch_;
    std::optional<clock::time_point> first_sent_;
    link_counters last_link_;
};

template <class Next>
std::shared_ptr<mux_session> make_session(smux::role r, smux::kcp::stream conversation,
                                          smux::config const& cfg, std::string name,
                                          std::string remote) {
    return std::make_shared<kcp_session<Next>>(r, Next(std::move(conversation)), cfg,
                                               std::move(name), std::move(remote));
}

class kcp_dialer final : public dialer {
  public:
    kcp_dialer(asio::any_io_executor ex, tunnel_options const& o, logger& log)
        : ex_(std::move(ex)),
          remote_(o.remoteaddr),
          kcp_(kcp_options(o)),
          smux_(smux_config(o)),
          compress_(!o.nocomp),
          log_(log) {}

    asio::awaitable<dial_result> dial() override {
        auto hp = split_host_port(remote_, "--remoteaddr");  // validated: a host:port
        if (hp->host.empty()) {
            hp->host = "127.0.0.1";  // Go dials the local system for an empty host
        }
        std::vector<asio::ip::udp::endpoint> endpoints;
        try {
            endpoints = co_await resolve_udp(*hp);
        } catch (std::system_error const& e) {
            co_return dial_result{nullptr, "resolving " + remote_ + ": " + e.what()};
        }
        smux::kcp::stream conversation(ex_, kcp_);
        smux::error_code ec;
        conversation.connect(endpoints.front(), ec);
        if (ec) {
            co_return dial_result{nullptr, "UDP socket to " + remote_ + ": " + ec.message()};
        }
        std::string const remote = to_string(endpoints.front());
        std::string name = remote + " (conv " + conv_name(conversation.conv()) + ")";
        log_.info("smux version: " + std::to_string(smux_.version) + " on connection: " + name);
        auto const r = smux::role::client;
        co_return dial_result{
            compress_
                ? make_session<compressed>(r, std::move(conversation), smux_, name, remote)
                : make_session<smux::kcp::stream>(r, std::move(conversation), smux_, name, remote),
            {}};
    }

  private:
    asio::any_io_executor ex_;
    std::string remote_;
    smux::kcp::options kcp_;
    smux::config smux_;
    bool compress_;
    logger& log_;
};

class kcp_acceptor final : public session_acceptor {
  public:
    kcp_acceptor(smux::kcp::listener listener, tunnel_options const& o, logger& log)
        : listener_(std::move(listener)),
          smux_(smux_config(o)),
          compress_(!o.nocomp),
          log_(log),
          timer_(listener_.get_executor()) {
        asio::co_spawn(listener_.get_executor(), watch_checksums(), asio::detached);
    }

    asio::awaitable<std::shared_ptr<mux_session>> accept() override {
        while (!closed_) {
            auto [ec, conversation] = co_await listener_.async_accept(as_tuple);
            if (closed_) {
                break;
            }
            if (ec) {
                log_.error("KCP accept: " + ec.message());
                continue;
            }
            // The public API tells the conv but not the peer's address.
            std::string name = "conv " + conv_name(conversation.conv());
            log_.info("smux version: " + std::to_string(smux_.version) + " on connection: " + name);
            auto const r = smux::role::server;
            co_return compress_
                ? make_session<compressed>(r, std::move(conversation), smux_, name, {})
                : make_session<smux::kcp::stream>(r, std::move(conversation), smux_, name, {});
        }
        co_return nullptr;
    }

    [[nodiscard]] std::string local_address() const override {
        return to_string(listener_.local_endpoint());
    }

    void close() override {
        closed_ = true;
        timer_.cancel();
        listener_.close();
    }

  private:
    /** kcptun drops datagrams that fail the checksum without a word, so a client with another
        key just hangs; this says so in the log, at most every 10 s. There is no event for a
        dropped datagram, hence the one-second look at the listener's counters. */
    asio::awaitable<void> watch_checksums() {
        std::uint64_t reported = 0;
        std::optional<clock::time_point> last_line;
        while (!closed_) {
            timer_.expires_after(std::chrono::seconds(1));
            auto [ec] = co_await timer_.async_wait(as_tuple);
            if (ec || closed_) {
                co_return;
            }
            auto const bad = listener_.stats().dropped.bad_crc;
            auto const now = clock::now();
            if (bad > reported && (!last_line || now - *last_line >= std::chrono::seconds(10))) {
                log_.warn(std::to_string(bad - reported) +
                          " datagrams failed the checksum and were dropped (" +
                          std::to_string(bad) +
                          " so far): a client with another --key or --crypt?");
                reported = bad;
                last_line = now;
            }
        }
    }

    smux::kcp::listener listener_;
    smux::config smux_;
    bool compress_;
    logger& log_;
    asio::steady_timer timer_;
    bool closed_ = false;
};

}  // namespace

std::unique_ptr<dialer> make_kcp_dialer(asio::any_io_executor ex, tunnel_options const& o,
                                        logger& log) {
    return std::make_unique<kcp_dialer>(std::move(ex), o, log);
}

asio::awaitable<std::unique_ptr<session_acceptor>> make_kcp_acceptor(tunnel_options const& o,
                                                                     logger& log) {
    auto const ex = co_await asio::this_coro::executor;
    auto const hp = split_host_port(o.listen, "--listen");  // validated: a host:port
    std::optional<std::system_error> failure;
    for (auto const& ep : co_await resolve_udp(*hp)) {
        try {
            smux::kcp::listener listener(ex, ep, kcp_options(o));
            co_return std::make_unique<kcp_acceptor>(std::move(listener), o, log);
        } catch (std::system_error const& e) {
            failure = e;  // e.g. no IPv6 for ":port": the IPv4 address is next
        }
    }
    throw failure.value_or(
        std::system_error(std::make_error_code(std::errc::address_not_available)));
}

}  // namespace smux_tunnel
