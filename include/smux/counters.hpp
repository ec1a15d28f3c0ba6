#ifndef SMUX_COUNTERS_HPP
#define SMUX_COUNTERS_HPP

#include <cstdint>

namespace smux {

/** Counters of one session, cumulative unless marked "now". The engine keeps them; a session
    publishes a snapshot of them after every step (`basic_session::stats`, any thread).

    Every field is a `std::uint64_t`: the snapshot copies the struct word by word, so a new
    counter is one field here plus its increment in the engine. */
struct session_counters {
    std::uint64_t bytes_received = 0;  ///< connection bytes, headers included
    std::uint64_t bytes_sent = 0;      ///< connection bytes handed to the transport
    /// frames of every command that arrived
    std::uint64_t frames_received = 0;
    /// frames of every command handed to the transport
    std::uint64_t frames_sent = 0;
    std::uint64_t streams_opened = 0;    ///< by this side
    std::uint64_t streams_accepted = 0;  ///< opened by the peer and queued for accept
    std::uint64_t streams_refused = 0;   ///< peer SYNs answered with FIN (max_streams)
    std::uint64_t streams_open = 0;      ///< now: streams in the table
    std::uint64_t buffered_bytes = 0;    ///< now: received payload not yet read
    std::uint64_t pinned_bytes = 0;      ///< now: memory the buffered payload keeps alive
    /// Frames the receiver drops as Go does: for unknown or closed streams, duplicate SYNs
    /// and FINs.
    std::uint64_t frames_ignored = 0;
    /// v2: writes that found the peer's window shut and had to wait for a window update.
    std::uint64_t window_stalls = 0;
    std::uint64_t keepalives_sent = 0;      ///< NOP frames handed to the transport
    std::uint64_t keepalives_received = 0;  ///< NOP frames received
    /// now: nanoseconds since the last frame arrived (since the session started, before the
    /// first). Filled in by `basic_session::stats`; the engine's own counters leave it 0.
    std::uint64_t since_last_frame_ns = 0;
};

/// The counters as `basic_session::stats` returns them.
using session_stats = session_counters;

/// Where a stream is in its life, from this side's point of view.
enum class stream_state : std::uint8_t {
    open,          ///< both directions open
    write_closed,  ///< this side ended its writes (FIN queued or sent); reading goes on
    read_closed,   ///< the peer's FIN arrived; writing goes on
    closed,        ///< both FINs, or the session ended
};

/** Counters of one stream (`basic_stream::stats`), cumulative unless marked "now". Payload
    bytes only: frame headers count in the session's bytes. */
struct stream_stats {
    std::uint64_t bytes_received = 0;   ///< payload bytes that arrived
    std::uint64_t bytes_sent = 0;       ///< payload bytes handed to the transport
    std::uint64_t frames_received = 0;  ///< frames of this stream: SYN, PSH, FIN, UPD
    std::uint64_t frames_sent = 0;      ///< frames of this stream handed to the transport
    std::uint64_t buffered_bytes = 0;   ///< now: received payload not yet read
    /// now, v2: bytes the peer's window lets this side send before its next update (0 when
    /// shut). v1 has no stream windows: 0.
    std::uint32_t send_window = 0;
    /// now, v2: the window this side advertises to the peer (grows with
    /// `stream_window_autotune`). v1: 0.
    std::uint32_t receive_window = 0;
    /// now: which directions are still open
    stream_state state = stream_state::open;
};

}  // namespace smux

#endif
