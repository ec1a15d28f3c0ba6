#ifndef SMUX_SRC_CORE_STREAM_RECORD_HPP
#define SMUX_SRC_CORE_STREAM_RECORD_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "rx_queue.hpp"
#include "smux/core/frame.hpp"
#include "smux/core/intrusive_list.hpp"
#include "smux/core/rx_buffer.hpp"
#include "smux/core/session.hpp"

namespace smux::core::detail {

/// The one write in progress on a stream, borrowed from the caller. Allocated (or reused from
/// the session's spares) while a write is pending, so that idle streams do not carry it.
struct write_cursor {
    std::span<std::span<std::byte const> const> src;
    std::size_t src_offset = 0;          ///< bytes of src[src_index] already framed
    std::size_t accepted = 0;            ///< bytes of the write to frame
    std::size_t framed = 0;              ///< bytes of the write already in frames
    std::uint32_t src_index = 0;         ///< current span of src
    std::uint16_t frames_in_flight = 0;  ///< PSH frames of this write in the batch (at most 64)
};

/// Everything the engine knows about one stream. Kept small: idle streams cost memory.
struct stream_record {
    explicit stream_record(stream_id sid) noexcept : id(sid) {}

    stream_id const id;          ///< the key of the session's stream_table
    std::uint32_t rx_bytes = 0;  ///< payload bytes in rx (within the session budget); here, it
                                 ///< fills what would be padding after the id
    void* context = nullptr;

    // ---- receive side
    rx_queue rx;                   ///< payload not yet read, oldest first
    std::uint32_t read_total = 0;  ///< v2: bytes the application took out (mod 2^32)
    /// v2: read_total when an update was last decided: the `consumed` of the UPD waiting to be
    /// sent, and the base of the bytes read since (read_total - upd_consumed)
    std::uint32_t upd_consumed = 0;
    /// v2: the most the peer was ever allowed to have sent: the initial window, then the
    /// largest consumed + window of the UPDs sent. More than this is a window overrun.
    std::uint32_t granted = initial_peer_window;
    std::uint32_t window = 0;  ///< v2: the window this side advertises (max_stream_buffer,
                               ///< or more with stream_window_autotune)

    // ---- send side (v2 window in Go's terms)
    std::uint32_t sent_framed = 0;  ///< payload bytes put in frames for the transport
    std::uint32_t peer_consumed = 0;
    std::uint32_t peer_window = initial_peer_window;

    std::uint16_t frames_in_flight = 0;  ///< all frames of this stream in the batch

    // ---- state
    bool syn_pending : 1 = false;
    bool upd_pending : 1 = false;
    bool fin_requested : 1 = false;  ///< local write side finished (FIN after the data)
    bool fin_framed : 1 = false;
    bool fin_sent : 1 = false;
    bool remote_fin : 1 = false;
    bool closed : 1 = false;  ///< fully closed by the application; the id is being forgotten
    bool in_backlog : 1 = false;
    bool want_readable : 1 = false;
    bool want_writable : 1 = false;

    // ---- metrics (smux::stream_stats); after the flags, where they add no padding
    std::uint64_t bytes_in = 0;   ///< payload received
    std::uint64_t bytes_out = 0;  ///< payload handed to the transport
    std::uint64_t frames_in = 0;
    std::uint64_t frames_out = 0;

    std::unique_ptr<write_cursor> write;  ///< the write in progress, if any
    list_hook<stream_record> ctrl_hook;   ///< waiting for a control frame (SYN, UPD)
    list_hook<stream_record> data_hook;   ///< waiting for a data frame (PSH, FIN)

    [[nodiscard]] bool has_unframed_data() const noexcept {
        return write != nullptr && write->framed < write->accepted;
    }
    /// v2: payload bytes received (mod 2^32), the count the peer's window applies to.
    [[nodiscard]] std::uint32_t received_total() const noexcept {
        return static_cast<std::uint32_t>(bytes_in);
    }
    /// v2: payload bytes accepted for sending (mod 2^32): framed, or waiting in the write.
    [[nodiscard]] std::uint32_t sent() const noexcept {
        return sent_framed + (write != nullptr
                                  ? static_cast<std::uint32_t>(write->accepted - write->framed)
                                  : 0U);
    }
    [[nodiscard]] bool has_data_work() const noexcept {
        return has_unframed_data() || (fin_requested && !fin_framed);
    }
};

// Idle streams are counted in records: with the stream_table's next pointer, 144 B keeps a
// record's node in glibc's 160 B size class on 64-bit targets.
static_assert(sizeof(void*) != 8 || sizeof(stream_record) <= 144);

using control_queue = intrusive_list<stream_record, &stream_record::ctrl_hook>;
using data_queue = intrusive_list<stream_record, &stream_record::data_hook>;

}  // namespace smux::core::detail

#endif
