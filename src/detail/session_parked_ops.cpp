// Parking and cancellation: accepts, waits and shutdowns parked in the session, a stream's
// parked read and write, per-operation cancellation, and dropping every parked handler when
// the execution context is destroyed.

#include "smux/detail/session_driver.hpp"

#include <algorithm>

#include "smux/stream.hpp"

namespace smux::detail {

namespace {

/// Completes and removes the parked session operation with this serial, if still parked.
template <class Ops, class... Args>
void complete_by_serial(Ops& ops, std::uint64_t serial, Args&&... args) {
    auto it =
        std::find_if(ops.begin(), ops.end(), [serial](auto const& p) { return p.first == serial; });
    if (it != ops.end()) {
        auto op = std::move(*it);
        ops.erase(it);
        op.second.complete(std::forward<Args>(args)...);
    }
}

}  // namespace

session_driver::accept_op& session_driver::park_accept(std::uint64_t serial) {
    accept_ops_.emplace_back(std::piecewise_construct, std::forward_as_tuple(serial),
                             std::forward_as_tuple());
    return accept_ops_.back().second;
}

session_driver::wait_op& session_driver::park_wait_closed(std::uint64_t serial) {
    wait_ops_.emplace_back(std::piecewise_construct, std::forward_as_tuple(serial),
                           std::forward_as_tuple());
    return wait_ops_.back().second;
}

session_driver::wait_op& session_driver::park_shutdown() {
    return shutdown_ops_.emplace_back();
}

void session_driver::cancel_op(op_kind kind, core::stream_id id, std::uint64_t serial,
                               net::cancellation_type type) {
    switch (kind) {
        case op_kind::read: {
            auto* st = static_cast<stream_ops*>(engine_.context(id));
            if (st != nullptr && st->read_op && st->read_op.data().serial == serial) {
                finish_read(*st, net::error::operation_aborted, 0);
            }
            break;
        }
        case op_kind::write: {
            auto* st = static_cast<stream_ops*>(engine_.context(id));
            if (st == nullptr || !st->write_op || st->write_op.data().serial != serial) {
                break;
            }
            bool const allowed =
                !st->write_op.data().registered ||
                (type & (net::cancellation_type::terminal | net::cancellation_type::partial)) !=
                    net::cancellation_type::none;
            if (allowed) {
                abort_write(*st, net::error::operation_aborted);
            }
            break;
        }
        case op_kind::accept:
            complete_by_serial(accept_ops_, serial, net::error::operation_aborted, stream{});
            break;
        case op_kind::wait_closed:
            complete_by_serial(wait_ops_, serial, net::error::operation_aborted);
            break;
    }
    settle();
}

void session_driver::cancel_stream(stream_ops& st) {
    cancel_ops(st);
    settle();
}

void session_driver::cancel_ops(stream_ops& st) {
    if (st.read_op) {
        finish_read(st, net::error::operation_aborted, 0);
    }
    if (st.write_op) {
        abort_write(st, net::error::operation_aborted);
    }
}

void session_driver::abort_write(stream_ops& st, error_code why) {
    auto& d = st.write_op.data();
    if (d.registered) {
        // Bytes already in frames still go out; the rest is dropped and the write ends
        // (at write_done) with the count that was sent.
        d.error = why;
        write_deadlines_.erase(d);
        engine_.abort_write(st.id);  // its write_done event completes it
    } else {
        finish_write(st, why, 0);
    }
}

void session_driver::destroy_parked_ops() noexcept {
    while (!read_deadlines_.empty()) {
        read_deadlines_.pop_front();
    }
    while (!write_deadlines_.empty()) {
        write_deadlines_.pop_front();
    }
    for (stream_ops* st : live_streams()) {
        st->read_op.reset();
        st->write_op.reset();
    }
    lingering_.clear();
    accept_ops_.clear();
    wait_ops_.clear();
    shutdown_ops_.clear();
}

}  // namespace smux::detail
