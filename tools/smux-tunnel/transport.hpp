#ifndef SMUX_TOOLS_TUNNEL_TRANSPORT_HPP
#define SMUX_TOOLS_TUNNEL_TRANSPORT_HPP

// What the roles need from a transport: smux sessions dialed (client) or accepted (server),
// whatever carries them (KCP, TCP or TLS implement the same interfaces).

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <smux/stream.hpp>
#include <string>
#include <tuple>

#include "logger.hpp"
#include "options.hpp"

namespace smux_tunnel {

/// How a session ended, for the log and the client's reconnection backoff.
struct session_end {
    std::string reason;
    bool heard_from_peer = false;  ///< false: the peer never answered (down, or another key)
    bool closed_here = false;      ///< ended by close() (a shutdown, the scavenger)
};

/// What the carrier under a session repaired so far, for the status line (KCP only; a TCP
/// carrier's are zero).
struct link_counters {
    std::uint64_t retransmits = 0;    ///< KCP segments sent again (kcp-go's RetransSegs)
    std::uint64_t fec_recovered = 0;  ///< data shards rebuilt by FEC (kcp-go's FECRecovered)

    link_counters& operator+=(link_counters const& o) noexcept {
        retransmits += o.retransmits;
        fec_recovered += o.fec_recovered;
        return *this;
    }
};

/// One smux session over some carrier. Used on the io_context's thread only.
class mux_session {
  public:
    using stream_result = std::tuple<smux::error_code, smux::stream>;

    virtual ~mux_session() = default;

    [[nodiscard]] virtual asio::awaitable<stream_result> open_stream() = 0;
    [[nodiscard]] virtual asio::awaitable<stream_result> accept_stream() = 0;

    /** Waits until the session ends, and ends it early when the carrier shows the peer is
        not there (KCP: no valid datagram at all since the first one sent). */
    [[nodiscard]] virtual asio::awaitable<session_end> supervise() = 0;

    [[nodiscard]] virtual bool is_open() const = 0;
    virtual void close() = 0;

    /// The carrier's repairs so far (also after the session ended).
    [[nodiscard]] virtual link_counters link() { return {}; }

    /// For the log: the carrier's ends, e.g. "conv 0x1a2b3c4d -> 10.0.0.1:29900".
    [[nodiscard]] virtual std::string const& name() const = 0;
};

struct dial_result {
    std::shared_ptr<mux_session> session;  ///< null on failure
    std::string failure;
};

/// The client's way to the server.
class dialer {
  public:
    virtual ~dialer() = default;
    [[nodiscard]] virtual asio::awaitable<dial_result> dial() = 0;
};

/// The server's source of sessions.
class session_acceptor {
  public:
    virtual ~session_acceptor() = default;
    /// Null once closed.
    [[nodiscard]] virtual asio::awaitable<std::shared_ptr<mux_session>> accept() = 0;
    [[nodiscard]] virtual std::string local_address() const = 0;
    virtual void close() = 0;
};

/// The dialer of `o.transport`. @throws std::system_error when a TLS file cannot be loaded.
[[nodiscard]] std::unique_ptr<dialer> make_dialer(asio::any_io_executor ex, tunnel_options const& o,
                                                  logger& log);

/// Binds `o.listen` for `o.transport`. @throws std::system_error when it cannot bind (or a
/// TLS file cannot be loaded).
[[nodiscard]] asio::awaitable<std::unique_ptr<session_acceptor>> make_session_acceptor(
    tunnel_options const& o, logger& log);

/// A session's terminal error as a log line, with a hint for the settings both ends must
/// share when it looks like a mismatch.
[[nodiscard]] std::string describe_end(smux::error_code const& ec);

/// Whether `ec` ends a session this side closed (no failure to report).
[[nodiscard]] bool closed_here(smux::error_code const& ec);

}  // namespace smux_tunnel

#endif
