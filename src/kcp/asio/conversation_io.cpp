// One conversation on its strand: datagrams in, parked reads and writes, the engine timer.

#include "smux/kcp/asio/detail/conversation_io.hpp"

#include <chrono>

namespace smux::kcp::detail {

namespace {

/// kcp-go compares times as signed differences (_itimediff): the clock may wrap.
bool before(std::uint32_t a, std::uint32_t b) noexcept {
    return static_cast<std::int32_t>(a - b) < 0;
}

template <class Byte>
std::span<std::span<Byte> const> buffers_of(conversation_io::op_data<Byte> const& d) {
    return std::span(d.buffers.data(), d.count);
}

}  // namespace

conversation_io::conversation_io(strand_type strand, options const& opts, std::uint32_t conv,
                                 std::shared_ptr<block_crypt> crypt)
    : strand_(std::move(strand)),
      executor_(strand_),
      opts_(opts),
      conv_(make_engine_config(opts, conv), std::move(crypt), opts.data_shards, opts.parity_shards),
      timer_(strand_),
      last_input_(now_ms()),
      parked_(executor_) {}

conversation_io::~conversation_io() = default;

std::shared_ptr<conversation_io> conversation_io::create(strand_type strand, options const& opts,
                                                         std::uint32_t conv,
                                                         std::shared_ptr<block_crypt> crypt) {
    auto c = std::make_shared<conversation_io>(std::move(strand), opts, conv, std::move(crypt));
    teardown_service::track(c->executor(), c);
    return c;
}

// The link goes too: a listener's link owns the listener, whose table owns this.
void conversation_io::drop_parked() noexcept {
    read_.reset();
    write_.reset();
    link_.reset();
}

std::uint32_t conversation_io::now_ms() noexcept {
    auto const t = std::chrono::steady_clock::now().time_since_epoch();
    return static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(t).count());
}

void conversation_io::send_out(std::span<std::byte> datagram) {
    if (link_) {
        link_->send(datagram);
    }
}

void conversation_io::flush_out() noexcept {
    if (link_) {
        link_->flush();
    }
}

void conversation_io::on_datagram(std::span<std::byte> datagram) {
    if (ended_) {
        return;
    }
    auto const now = now_ms();
    if (conv_.input(datagram, now, [this](std::span<std::byte> d) { send_out(d); })) {
        last_input_ = now;  // idle means: nothing that passed the CRC arrived
    }
}

void conversation_io::on_opened(std::span<std::byte const> payload) {
    if (ended_) {
        return;
    }
    last_input_ = now_ms();
    conv_.input_opened(payload, last_input_, [this](std::span<std::byte> d) { send_out(d); });
}

void conversation_io::settle() {
    if (ended_) {
        return;
    }
    complete_read_if_ready();
    complete_write_if_ready();
    flush_out();  // the acks and resends of the input or timer that led here
    arm_timer(now_ms());
}

void conversation_io::start_read() {
    if (ended_) {
        read_.complete(*ended_, 0);
        return;
    }
    complete_read_if_ready();
}

void conversation_io::start_write() {
    if (ended_) {
        write_.complete(*ended_, 0);
        return;
    }
    complete_write_if_ready();
    arm_timer(now_ms());
}

void conversation_io::complete_read_if_ready() {
    if (!read_ || conv_.readable() == 0) {
        return;
    }
    std::size_t n = 0;
    for (std::span<std::byte> b : buffers_of(read_.data())) {
        std::size_t const got = conv_.recv(b);
        n += got;
        if (got < b.size()) {
            break;
        }
    }
    read_.complete(error_code{}, n);
}

// A write completes once the engine took some of its bytes (back-pressure: it waits while
// the send window is full), flushed at once as kcptun's no-write-delay does.
void conversation_io::complete_write_if_ready() {
    if (!write_ || !conv_.can_send()) {
        return;
    }
    auto const now = now_ms();
    std::size_t n = 0;
    for (std::span<std::byte const> b : buffers_of(write_.data())) {
        std::size_t const took = conv_.queue(b);
        n += took;
        if (took < b.size()) {
            break;
        }
    }
    if (n == 0) {
        return;  // stays parked: a write never completes empty without an error
    }
    conv_.flush(now, [this](std::span<std::byte> d) { send_out(d); });
    flush_out();
    write_.complete(error_code{}, n);
}

void conversation_io::cancel(op_kind kind, std::uint64_t serial) {
    if (kind == op_kind::read && read_ && read_.data().serial == serial) {
        read_.complete(net::error::operation_aborted, 0);
    } else if (kind == op_kind::write && write_ && write_.data().serial == serial) {
        write_.complete(net::error::operation_aborted, 0);  // parked: nothing was taken
    }
}

void conversation_io::arm_timer(std::uint32_t now) {
    std::uint32_t const due = conv_.check(now);
    if (timer_due_ && !before(due, *timer_due_)) {
        return;  // an earlier or equal wake-up is already set
    }
    timer_due_ = due;
    timer_.expires_after(std::chrono::milliseconds(static_cast<std::int32_t>(due - now)));
    timer_.async_wait(
        [self = shared_from_this(), g = ++timer_generation_](error_code) { self->on_timer(g); });
}

void conversation_io::on_timer(std::uint64_t generation) {
    if (generation != timer_generation_ || ended_) {
        return;  // re-armed earlier since, or over
    }
    timer_due_.reset();
    auto const now = now_ms();
    auto const idle = static_cast<std::uint32_t>(opts_.idle_timeout.count());
    if (idle != 0 && now - last_input_ >= idle) {
        end(net::error::timed_out);
        return;
    }
    conv_.update(now, [this](std::span<std::byte> d) { send_out(d); });
    settle();
}

void conversation_io::end(error_code why, bool flush_first) {
    if (ended_) {
        return;
    }
    if (flush_first) {
        conv_.flush(now_ms(), [this](std::span<std::byte> d) { send_out(d); });
    }
    flush_out();  // before the link is detached: what this turn queued still goes out
    ended_ = why;
    ++timer_generation_;
    timer_.cancel();
    if (read_) {
        read_.complete(why, 0);
    }
    if (write_) {
        write_.complete(why, 0);
    }
    if (link_) {
        link_->detach();
    }
}

}  // namespace smux::kcp::detail
