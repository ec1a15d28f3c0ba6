// Time in the driver: keep-alive ticks, the read and write timeouts of parked operations and
// the grace period after a failed transport write share one steady_timer, armed for the
// earliest of them.

#include "smux/detail/session_driver.hpp"

namespace smux::detail {

namespace {

/// The longest a transport's end may take: the farewell frame's write, or a closing
/// handshake that waits for the peer (TLS close_notify).
constexpr auto transport_end_limit = std::chrono::seconds(2);

}  // namespace

void session_driver::arm_timer() {
    std::optional<core::time_point> next = engine_.next_timer();
    auto earliest = [&next](core::time_point t) {
        if (!next || t < *next) {
            next = t;
        }
    };
    if (!read_deadlines_.empty()) {
        earliest(read_deadlines_.front()->deadline);
    }
    if (!write_deadlines_.empty()) {
        earliest(write_deadlines_.front()->deadline);
    }
    if (write_error_) {
        earliest(write_error_deadline_);
    }
    if (!next || (timer_waiting_ && timer_expiry_ <= *next)) {
        return;  // a wait that fires no later is pending; it re-arms when it fires
    }
    timer_expiry_ = *next;
    timer_waiting_ = true;
    timer_.expires_at(*next);  // cancels a later pending wait
    timer_.async_wait(net::bind_executor(
        strand_, [self = shared_from_this(), generation = ++timer_generation_](error_code) {
            self->on_timer(generation);
        }));
}

void session_driver::arm_end_deadline() {
    timer_expiry_ = core::clock::now() + transport_end_limit;
    timer_waiting_ = true;
    timer_.expires_at(timer_expiry_);
    timer_.async_wait(net::bind_executor(
        strand_, [self = shared_from_this(), generation = ++timer_generation_](error_code) {
            self->on_timer(generation);
        }));
}

void session_driver::on_timer(std::uint64_t generation) {
    if (generation != timer_generation_) {
        return;  // replaced by an earlier deadline
    }
    timer_waiting_ = false;
    if (!engine_.is_alive()) {
        close_transport_now();  // the transport's end took too long
        return;
    }
    auto const now = core::clock::now();
    if (write_error_ && now >= write_error_deadline_) {
        close(write_error_);
        return;
    }
    engine_.on_timer(now);
    expire_deadlines(now);
    settle();
}

void session_driver::expire_deadlines(core::time_point now) {
    while (!read_deadlines_.empty() && read_deadlines_.front()->deadline <= now) {
        finish_read(*read_deadlines_.front()->owner, make_error_code(error::read_timeout), 0);
    }
    while (!write_deadlines_.empty() && write_deadlines_.front()->deadline <= now) {
        abort_write(*write_deadlines_.front()->owner, make_error_code(error::write_timeout));
    }
}

void session_driver::read_parked(stream_ops& st) {
    if (cfg_.stream_read_timeout.count() > 0) {
        auto& d = st.read_op.data();
        d.deadline = core::clock::now() + cfg_.stream_read_timeout;
        read_deadlines_.push_back(d);
    }
    settle();
}

void session_driver::begin_write(stream_ops& st) {
    if (cfg_.stream_write_timeout.count() > 0) {
        auto& d = st.write_op.data();
        d.deadline = core::clock::now() + cfg_.stream_write_timeout;
        write_deadlines_.push_back(d);
    }
    start_write(st);
    settle();
}

void session_driver::finish_read(stream_ops& st, error_code ec, std::size_t bytes) {
    read_deadlines_.erase(st.read_op.data());
    st.read_op.complete(ec, bytes);
}

void session_driver::finish_write(stream_ops& st, error_code ec, std::size_t bytes) {
    write_deadlines_.erase(st.write_op.data());
    st.write_op.complete(ec, bytes);
}

}  // namespace smux::detail
