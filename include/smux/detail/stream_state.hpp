#ifndef SMUX_DETAIL_STREAM_STATE_HPP
#define SMUX_DETAIL_STREAM_STATE_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "smux/core/frame.hpp"
#include "smux/core/session.hpp"
#include "smux/detail/intrusive_list.hpp"
#include "smux/detail/op_slot.hpp"
#include "smux/error.hpp"

namespace smux::detail {

/// Most buffers of one buffer sequence a single read or write takes (a short count is legal).
inline constexpr std::size_t max_op_buffers = 8;

/// The front end's part of one stream: its parked operations. Touched only on the strand.
struct stream_state {
    explicit stream_state(core::stream_id sid) noexcept : id(sid) {}

    core::stream_id const id;

    op_slot<void(error_code, std::size_t)> read_op;
    std::uint64_t read_serial = 0;
    std::array<std::span<std::byte>, max_op_buffers> read_buffers{};
    std::size_t read_buffer_count = 0;

    op_slot<void(error_code, std::size_t)> write_op;
    std::uint64_t write_serial = 0;
    /// Borrowed by the engine while a write is registered: must not change until write_done.
    std::array<std::span<std::byte const>, max_op_buffers> write_buffers{};
    std::size_t write_buffer_count = 0;
    bool write_registered = false;  ///< the engine holds write_buffers
    error_code write_error;         ///< set when the write was cancelled or its stream closed

    bool closed = false;  ///< closed by the application

    // Deadlines of parked operations (config stream_read_timeout / stream_write_timeout).
    core::time_point read_deadline{};
    list_hook<stream_state> read_deadline_hook;
    core::time_point write_deadline{};
    list_hook<stream_state> write_deadline_hook;
};

/// Streams with a parked operation, oldest deadline first (one timeout for all: FIFO order).
using read_deadline_list = intrusive_list<stream_state, &stream_state::read_deadline_hook>;
using write_deadline_list = intrusive_list<stream_state, &stream_state::write_deadline_hook>;

}  // namespace smux::detail

#endif
