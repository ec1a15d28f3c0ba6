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
    std::uint64_t frames_received = 0;
    std::uint64_t frames_sent = 0;
    std::uint64_t streams_opened = 0;    ///< by this side
    std::uint64_t streams_accepted = 0;  ///< opened by the peer and queued for accept
    std::uint64_t streams_refused = 0;   ///< peer SYNs answered with FIN (max_streams)
    std::uint64_t streams_open = 0;      ///< now: streams in the table
    std::uint64_t buffered_bytes = 0;    ///< now: received payload not yet read
    std::uint64_t pinned_bytes = 0;      ///< now: memory the buffered payload keeps alive
};

/// The counters as `basic_session::stats` returns them.
using session_stats = session_counters;

}  // namespace smux

#endif
