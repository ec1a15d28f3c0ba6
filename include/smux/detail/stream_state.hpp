#ifndef SMUX_DETAIL_STREAM_STATE_HPP
#define SMUX_DETAIL_STREAM_STATE_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "smux/core/frame.hpp"
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
};

}  // namespace smux::detail

#endif
