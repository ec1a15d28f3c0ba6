#ifndef SMUX_KCP_ASIO_LISTENER_HPP
#define SMUX_KCP_ASIO_LISTENER_HPP

#include <cstddef>
#include <cstdint>
#include <memory>

#include <asio/ip/udp.hpp>

#include "smux/detail/asio_compat.hpp"
#include "smux/kcp/asio/options.hpp"
#include "smux/kcp/asio/stream.hpp"

namespace smux::kcp {

/// What a listener's socket saw (copied on its strand).
struct listener_stats {
    /// datagrams read from the socket
    std::uint64_t datagrams_in = 0;
    drop_counters dropped;            ///< before routing: too short, bad CRC
    std::uint64_t unroutable = 0;     ///< unknown address without a readable conv (parity)
    std::uint64_t backlog_full = 0;   ///< new conversations refused: 128 not yet accepted
    std::uint64_t foreign_conv = 0;   ///< known address, other conv, sn != 0
    std::uint64_t replaced = 0;       ///< known address, other conv with sn 0
    std::uint64_t conversations = 0;  ///< created so far
    std::size_t live = 0;             ///< now
};

namespace detail {
class listener_impl;
}

/** kcp-go's Listener: one UDP socket, one conversation per remote address (KCP.md §4).

    A datagram from an unknown address whose conv can be read (plain KCP, or an FEC data
    shard) creates a conversation if fewer than 128 wait to be accepted; parity never does.
    From a known address: the same conv goes to its conversation; another conv with sn 0
    replaces it (the old stream's operations fail with `asio::error::connection_reset`);
    anything else is dropped. Closed and idle-expired (`options::idle_timeout`) conversations
    leave the table, so the address may start afresh.

    @par Thread Safety
    As an Asio acceptor. The listener and all its conversations share one strand. */
class SMUX_KCP_ASIO_EXPORT listener {
  public:
    /// The listener's strand, type-erased.
    using executor_type = net::any_io_executor;
    /// A UDP endpoint.
    using endpoint_type = net::ip::udp::endpoint;

    /// Binds a UDP socket to `local` (port 0: any). @throws system_error on failure.
    listener(net::any_io_executor ex, endpoint_type const& local, options opts);
    /// Moves the listener; the moved-from one may only be destroyed or assigned to.
    listener(listener&&) noexcept;
    /// Closes the listener held now (see `close`), then takes over `other`.
    listener& operator=(listener&&) noexcept;
    /// Closes (see `close`).
    ~listener();

    /// The strand the listener and its conversations run on.
    [[nodiscard]] executor_type get_executor() const noexcept;
    /// The bound address (with the port the system picked for port 0).
    [[nodiscard]] endpoint_type local_endpoint() const;

    /** Waits for a new conversation. Completion signature `void(error_code, stream)`.
        Cancellation: terminal, partial, total (`operation_aborted`); after `close`:
        `operation_aborted`. */
    template <net::completion_token_for<void(error_code, stream)> Token =
                  net::default_completion_token_t<executor_type>>
    auto async_accept(Token&& token = net::default_completion_token_t<executor_type>());

    /** Stops reading, closes the socket, ends every conversation (their operations fail with
        `operation_aborted`) and fails a pending accept. */
    void close() noexcept;

    /// Counters; on the strand (or with no other thread running it).
    [[nodiscard]] listener_stats stats() const;

  private:
    executor_type executor_;
    std::shared_ptr<detail::listener_impl> impl_;
};

}  // namespace smux::kcp

#include "smux/kcp/asio/export.hpp"
#include "smux/kcp/asio/impl/listener.hpp"

#endif
