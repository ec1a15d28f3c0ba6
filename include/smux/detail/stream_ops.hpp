#ifndef SMUX_DETAIL_STREAM_OPS_HPP
#define SMUX_DETAIL_STREAM_OPS_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "smux/core/frame.hpp"
#include "smux/core/intrusive_list.hpp"
#include "smux/core/session.hpp"
#include "smux/detail/op_slot.hpp"
#include "smux/error.hpp"

namespace smux::detail {

/// Most buffers of one buffer sequence a single read or write takes (a short count is legal;
/// composed operations such as asio::async_write pass the rest on the next call).
inline constexpr std::size_t max_read_buffers = 2;
inline constexpr std::size_t max_write_buffers = 4;

struct stream_ops;

/// What a parked read needs; it lives in the read's own allocation.
struct read_op_data {
    stream_ops* owner = nullptr;
    std::uint64_t serial = 0;  ///< matches cancellation requests to this read
    std::array<std::span<std::byte>, max_read_buffers> buffers{};
    std::size_t buffer_count = 0;
    core::time_point deadline{};  ///< config stream_read_timeout
    core::list_hook<read_op_data> deadline_hook;
};

/// What a parked write needs; it lives in the write's own allocation.
struct write_op_data {
    stream_ops* owner = nullptr;
    std::uint64_t serial = 0;
    /// Borrowed by the engine while the write is registered: stable until write_done.
    std::array<std::span<std::byte const>, max_write_buffers> buffers{};
    std::size_t buffer_count = 0;
    bool registered = false;      ///< the engine holds `buffers`
    error_code error;             ///< set when the write was cancelled, timed out or closed
    core::time_point deadline{};  ///< config stream_write_timeout
    core::list_hook<write_op_data> deadline_hook;
};

/// The front end's part of one stream (the engine's part is its `stream_record`): its two
/// parked operations, nothing else, so that an idle stream costs a few words. A `stream`
/// handle shares it with the driver. Touched only on the strand.
struct stream_ops {
    explicit stream_ops(core::stream_id sid) noexcept : id(sid) {}

    core::stream_id const id;
    bool closed = false;  ///< closed by the application
    op_slot<void(error_code, std::size_t), read_op_data> read_op;
    op_slot<void(error_code, std::size_t), write_op_data> write_op;
    core::list_hook<stream_ops> live_hook;  ///< in the session's list of live streams
};

using live_stream_list = core::intrusive_list<stream_ops, &stream_ops::live_hook>;
/// Parked operations with a deadline, oldest first (one timeout for all: FIFO order).
using read_deadline_list = core::intrusive_list<read_op_data, &read_op_data::deadline_hook>;
using write_deadline_list = core::intrusive_list<write_op_data, &write_op_data::deadline_hook>;

}  // namespace smux::detail

#endif
