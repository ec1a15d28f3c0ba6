// Stream operations on the strand: reading buffered payload into a parked read, registering
// a parked write with the engine and completing it, half and full close.

#include "smux/detail/session_driver.hpp"

#include <algorithm>

namespace smux::detail {

session_driver::read_outcome session_driver::try_read(
    stream_ops& st, std::span<std::span<std::byte> const> buffers) {
    if (buffers.empty()) {
        // A wait: it takes nothing, and succeeds once a read would not wait (for bytes, end
        // of file or an error alike, as a socket's wait_read).
        return {.would_block =
                    engine_.poll_read(st.id).state == core::read_result::status::would_block};
    }
    auto const r = engine_.read(st.id, buffers);
    switch (r.state) {
        case core::read_result::status::data:
            settle();  // credit came back: reading may resume and a window update be due
            return {.bytes = r.bytes};
        case core::read_result::status::end_of_stream:
            return {.ec = net::error::eof};
        case core::read_result::status::failed:
            return {.ec = st.closed ? make_error_code(error::stream_closed) : r.ec};
        case core::read_result::status::would_block:
            break;
    }
    return {.would_block = true};
}

error_code session_driver::sync_read_refused(stream_ops const& st) const {
    if (!strand_.running_in_this_thread()) {
        return make_error_code(error::not_on_strand);
    }
    if (st.closed) {
        return make_error_code(error::stream_closed);
    }
    if (st.read_op) {
        return make_error_code(error::operation_in_progress);
    }
    return {};
}

session_driver::read_outcome session_driver::read_now(
    stream_ops& st, std::span<std::span<std::byte> const> buffers) {
    if (error_code ec = sync_read_refused(st)) {
        return {.ec = ec};
    }
    if (buffers.empty()) {
        return {};  // as a socket: reading into no buffer takes nothing and succeeds
    }
    auto r = try_read(st, buffers);
    if (r.would_block) {
        r.ec = net::error::would_block;
    }
    return r;
}

session_driver::read_outcome session_driver::take_now(stream_ops& st, std::size_t max_bytes,
                                                      std::span<core::rx_chunk> out) {
    if (error_code ec = sync_read_refused(st)) {
        return {.ec = ec};
    }
    if (max_bytes == 0) {
        return {};  // as a read into no buffer
    }
    auto const r = engine_.take(st.id, max_bytes, out);
    switch (r.read.state) {
        case core::read_result::status::data:
            return {.bytes = r.read.bytes};  // the budget stays taken: nothing to settle
        case core::read_result::status::end_of_stream:
            return {.ec = net::error::eof};
        case core::read_result::status::failed:
            return {.ec = r.read.ec};
        case core::read_result::status::would_block:
            break;
    }
    return {.would_block = true, .ec = net::error::would_block};
}

void session_driver::release_lent(core::stream_id id, std::span<core::rx_chunk> chunks) {
    engine_.release(id, chunks);
    settle();  // budget came back: reading may resume and a window update be due
}

std::size_t session_driver::available(stream_ops const& st, error_code& ec) const {
    ec = {};
    if (!strand_.running_in_this_thread()) {
        ec = make_error_code(error::not_on_strand);
        return 0;
    }
    if (st.closed) {
        ec = make_error_code(error::stream_closed);
        return 0;
    }
    return engine_.readable_bytes(st.id);
}

stream_stats session_driver::stats_of(stream_ops const& st, error_code& ec) const {
    ec = {};
    if (!strand_.running_in_this_thread()) {
        ec = make_error_code(error::not_on_strand);
        return {};
    }
    auto stats = st.closed ? std::nullopt : engine_.stream_stats(st.id);
    if (!stats) {
        ec = make_error_code(error::stream_closed);
        return {};
    }
    return *stats;
}

void session_driver::complete_read_if_ready(stream_ops& st) {
    if (!st.read_op) {
        return;
    }
    auto const& d = st.read_op.data();
    auto r = try_read(st, std::span(d.buffers.data(), d.buffer_count));
    if (!r.would_block) {
        finish_read(st, r.ec, r.bytes);
    }
}

void session_driver::start_write(stream_ops& st) {
    if (write_error_ && engine_.is_alive()) {
        finish_write(st, write_error_, 0);
        return;
    }
    auto& d = st.write_op.data();
    auto r = engine_.write(st.id, std::span(d.buffers.data(), d.buffer_count));
    if (r.ec) {
        finish_write(st, r.ec, 0);
        return;
    }
    if (r.accepted > 0) {
        d.registered = true;  // settle flushes its frames
    }
    // Otherwise the window is closed: the op stays parked until `writable`.
}

void session_driver::retry_write(stream_ops& st) {
    if (st.write_op && !st.write_op.data().registered) {
        start_write(st);
    }
}

void session_driver::complete_write(stream_ops& st, std::size_t bytes) {
    if (st.write_op) {
        finish_write(st, st.write_op.data().error, bytes);
    }
    erase_stream_if_done(st);
}

void session_driver::shutdown_send(stream_ops& st) {
    if (!st.closed) {
        (void)engine_.close_write(st.id);
    }
    settle();
}

void session_driver::close_stream(std::shared_ptr<stream_ops> const& st) {
    if (st->closed) {
        return;
    }
    cancel_ops(*st);
    st->closed = true;
    engine_.close_stream(st->id);
    settle();  // delivers the write's completion when it is already due
    if (st->write_op) {
        lingering_.push_back(st);  // its frames are in the transport's current write
    } else {
        erase_stream_if_done(*st);
    }
}

void session_driver::erase_stream_if_done(stream_ops& st) {
    if (!st.closed || st.write_op || st.read_op || !live_.contains(st)) {
        return;
    }
    live_.erase(st);
    // Dropping a lingering reference may destroy `st`: nothing may touch it afterwards.
    auto it = std::find_if(lingering_.begin(), lingering_.end(),
                           [&st](auto const& p) { return p.get() == &st; });
    if (it != lingering_.end()) {
        auto last = std::move(*it);
        lingering_.erase(it);
    }
}

}  // namespace smux::detail
