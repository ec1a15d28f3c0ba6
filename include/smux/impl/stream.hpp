#ifndef SMUX_IMPL_STREAM_HPP
#define SMUX_IMPL_STREAM_HPP

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <utility>

#include "smux/detail/op_slot.hpp"
#include "smux/detail/session_driver.hpp"

namespace smux::detail {

/// Takes the non-empty buffers of a sequence, up to the capacity of `out`.
template <class BufferSequence, class Byte, std::size_t N>
std::size_t to_spans(BufferSequence const& buffers, std::array<std::span<Byte>, N>& out) {
    std::size_t count = 0;
    auto const end = net::buffer_sequence_end(buffers);
    for (auto it = net::buffer_sequence_begin(buffers); it != end && count < N; ++it) {
        auto const b = *it;
        if (b.size() != 0) {
            out[count++] = std::span<Byte>(static_cast<Byte*>(b.data()), b.size());
        }
    }
    return count;
}

/// Installed in a handler's cancellation slot where the operation starts; forwards the
/// request to the strand, where it applies only if the same operation is still pending.
class cancel_request {
  public:
    cancel_request(std::weak_ptr<session_driver> s, op_kind kind, core::stream_id id,
                   std::uint64_t serial) noexcept
        : session_(std::move(s)), kind_(kind), id_(id), serial_(serial) {}

    void operator()(net::cancellation_type type) const {
        if (auto s = session_.lock()) {
            auto const& strand = s->strand();
            net::post(strand, [s = std::move(s), kind = kind_, id = id_, serial = serial_, type] {
                s->cancel_op(kind, id, serial, type);
            });
        }
    }

  private:
    std::weak_ptr<session_driver> session_;
    op_kind kind_;
    core::stream_id id_;
    std::uint64_t serial_;
};

template <class Handler>
std::uint64_t install_cancellation(Handler& handler, session_driver& s, op_kind kind,
                                   core::stream_id id) {
    std::uint64_t const serial = s.next_serial();
    auto slot = net::get_associated_cancellation_slot(handler);
    if (slot.is_connected()) {
        slot.template emplace<cancel_request>(s.weak_from_this(), kind, id, serial);
    }
    return serial;
}

/// Completes an operation started on an empty handle.
template <class Handler, class... Args>
void complete_on_empty_handle(Handler&& handler, Args&&... args) {
    auto ex = net::get_associated_executor(handler, net::system_executor());
    post_completion(std::forward<Handler>(handler), ex, std::forward<Args>(args)...);
}

/// Completes an operation started on an empty or closed handle with stream_closed (and
/// `extra`, a count); false when the handle holds a stream.
template <class Handler, class... Extra>
bool reject_closed_handle(Handler& handler, std::shared_ptr<session_driver> const& s,
                          std::shared_ptr<stream_ops> const& st, Extra... extra) {
    if (!s) {
        complete_on_empty_handle(std::move(handler), make_error_code(error::stream_closed),
                                 extra...);
        return true;
    }
    if (!st) {  // closed handle
        post_completion(std::move(handler), s->executor(), make_error_code(error::stream_closed),
                        extra...);
        return true;
    }
    return false;
}

/** What a stream read and a stream write share: an empty or closed handle fails with
    stream_closed; cancellation is installed where the operation starts; on the strand, the
    buffers become spans, empty buffers complete at once, and a second operation of the same
    kind fails with operation_in_progress. Otherwise `Op::start` takes over. */
template <class Op>
struct initiate_stream_op {
    template <class Handler, class BufferSequence>
    void operator()(Handler&& handler, std::shared_ptr<session_driver> s,
                    std::shared_ptr<stream_ops> st, BufferSequence const& buffers) const {
        if (reject_closed_handle(handler, s, st, std::size_t{0})) {
            return;
        }
        std::uint64_t const serial = install_cancellation(handler, *s, Op::kind, st->id);
        auto const& strand = s->strand();
        net::dispatch(strand, [s = std::move(s), st = std::move(st), serial, buffers,
                               h = std::forward<Handler>(handler)]() mutable {
            typename Op::span_array spans{};
            std::size_t const count = to_spans(buffers, spans);
            if (count == 0) {
                post_completion(std::move(h), s->executor(), error_code{}, std::size_t{0});
                return;
            }
            if (Op::slot(*st)) {
                post_completion(std::move(h), s->executor(),
                                make_error_code(error::operation_in_progress), std::size_t{0});
                return;
            }
            Op::start(std::move(h), *s, st, serial, spans, count);
        });
    }
};

/// Records in a parked operation's own allocation what it needs to complete or be cancelled.
template <class OpData, class SpanArray>
void describe_parked_op(OpData& d, stream_ops& owner, std::uint64_t serial, SpanArray const& spans,
                        std::size_t count) noexcept {
    d.owner = &owner;
    d.serial = serial;
    d.buffers = spans;
    d.buffer_count = count;
}

/// A read completes at once when bytes, FIN or an error are there; else it parks.
struct read_op_traits {
    static constexpr op_kind kind = op_kind::read;
    using span_array = std::array<std::span<std::byte>, max_read_buffers>;
    static auto& slot(stream_ops& st) noexcept { return st.read_op; }

    template <class Handler>
    static void start(Handler&& h, session_driver& s, std::shared_ptr<stream_ops> const& st,
                      std::uint64_t serial, span_array const& spans, std::size_t count) {
        auto const r = s.try_read(*st, std::span(spans.data(), count));
        if (!r.would_block) {
            post_completion(std::forward<Handler>(h), s.executor(), r.ec, r.bytes);
            return;
        }
        st->read_op.emplace(std::forward<Handler>(h), s.parked());
        describe_parked_op(st->read_op.data(), *st, serial, spans, count);
        s.read_parked(*st);
    }
};

/// A write parks, borrowing the caller's buffers, and is handed to the engine.
struct write_op_traits {
    static constexpr op_kind kind = op_kind::write;
    using span_array = std::array<std::span<std::byte const>, max_write_buffers>;
    static auto& slot(stream_ops& st) noexcept { return st.write_op; }

    template <class Handler>
    static void start(Handler&& h, session_driver& s, std::shared_ptr<stream_ops> const& st,
                      std::uint64_t serial, span_array const& spans, std::size_t count) {
        st->write_op.emplace(std::forward<Handler>(h), s.parked());
        describe_parked_op(st->write_op.data(), *st, serial, spans, count);
        s.begin_write(*st);
    }
};

using initiate_read_some = initiate_stream_op<read_op_traits>;
using initiate_write_some = initiate_stream_op<write_op_traits>;

/// A `void(error_code)` handler in the read slot, whose signature has a count: the count is
/// dropped; the handler's associated executor, allocator and cancellation slot stay its own.
template <class Handler>
struct without_count {
    Handler handler;
    void operator()(error_code ec, std::size_t /*count*/) { std::move(handler)(ec); }
};

/** A wait for readability is a read with no buffers: it parks in the read slot (so reads
    and waits exclude each other, share the read timeout and the cancellation path) and
    completes when a read would no longer wait. */
struct initiate_wait {
    template <class Handler>
    void operator()(Handler&& handler, std::shared_ptr<session_driver> s,
                    std::shared_ptr<stream_ops> st, net::socket_base::wait_type w) const {
        if (reject_closed_handle(handler, s, st)) {
            return;
        }
        if (w != net::socket_base::wait_read) {
            post_completion(std::forward<Handler>(handler), s->executor(),
                            error_code(net::error::operation_not_supported));
            return;
        }
        std::uint64_t const serial = install_cancellation(handler, *s, op_kind::read, st->id);
        auto const& strand = s->strand();
        net::dispatch(strand, [s = std::move(s), st = std::move(st), serial,
                               h = std::forward<Handler>(handler)]() mutable {
            if (st->read_op) {
                post_completion(std::move(h), s->executor(),
                                make_error_code(error::operation_in_progress));
                return;
            }
            read_op_traits::start(without_count<std::decay_t<Handler>>{std::move(h)}, *s, st,
                                  serial, read_op_traits::span_array{}, 0);
        });
    }
};

/** async_receive's handler: a wait for readability (`initiate_wait`), then, on the strand,
    the lent bytes; a read that took them in between makes it wait again. Its associated
    executor, allocator and cancellation slot are the user handler's, so the wait parks and
    completes as any operation of the stream does. */
template <class Handler>
class receive_handler {
  public:
    receive_handler(Handler h, std::shared_ptr<session_driver> s, std::shared_ptr<stream_ops> st,
                    std::size_t max_bytes)
        : handler(std::move(h)),
          session_(std::move(s)),
          ops_(std::move(st)),
          max_bytes_(max_bytes) {}

    /// Starts waiting (an empty or closed handle fails there with stream_closed).
    static void wait(receive_handler&& self) {
        auto s = self.session_;
        auto st = self.ops_;
        initiate_wait{}(std::move(self), std::move(s), std::move(st), net::socket_base::wait_read);
    }

    /// Lends what is there without waiting first (max_bytes 0), never inline.
    static void post_take(receive_handler&& self) {
        auto const& strand = self.session_->strand();
        net::post(strand, [self = std::move(self)]() mutable { self.take(); });
    }

    void operator()(error_code ec) {  // the wait completed
        if (ec) {
            std::move(handler)(ec, received_buffers{});
            return;
        }
        auto const& strand = session_->strand();
        net::dispatch(strand, [self = std::move(*this)]() mutable { self.take(); });
    }

    Handler handler;

  private:
    void take() {  // on the strand
        error_code ec;
        received_buffers out = receive_access::receive_now(session_, *ops_, max_bytes_, ec);
        if (ec == net::error::would_block) {
            wait(std::move(*this));
            return;
        }
        auto ex = net::get_associated_executor(handler, session_->executor());
        net::dispatch(ex, [h = std::move(handler), ec, out = std::move(out)]() mutable {
            std::move(h)(ec, std::move(out));
        });
    }

    std::shared_ptr<session_driver> session_;
    std::shared_ptr<stream_ops> ops_;
    std::size_t max_bytes_;
};

struct initiate_receive {
    template <class Handler>
    void operator()(Handler&& handler, std::shared_ptr<session_driver> s,
                    std::shared_ptr<stream_ops> st, std::size_t max_bytes) const {
        bool const lend_at_once = s && st && max_bytes == 0;
        receive_handler<std::decay_t<Handler>> h(std::forward<Handler>(handler), std::move(s),
                                                 std::move(st), max_bytes);
        if (lend_at_once) {
            decltype(h)::post_take(std::move(h));
        } else {
            decltype(h)::wait(std::move(h));
        }
    }
};

}  // namespace smux::detail

namespace asio {

template <template <class, class> class Associator, class Handler, class DefaultCandidate>
struct associator<Associator, smux::detail::without_count<Handler>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
    static typename Associator<Handler, DefaultCandidate>::type get(
        smux::detail::without_count<Handler> const& h,
        DefaultCandidate const& c = DefaultCandidate()) noexcept {
        return Associator<Handler, DefaultCandidate>::get(h.handler, c);
    }
};

template <template <class, class> class Associator, class Handler, class DefaultCandidate>
struct associator<Associator, smux::detail::receive_handler<Handler>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
    static typename Associator<Handler, DefaultCandidate>::type get(
        smux::detail::receive_handler<Handler> const& h,
        DefaultCandidate const& c = DefaultCandidate()) noexcept {
        return Associator<Handler, DefaultCandidate>::get(h.handler, c);
    }
};

}  // namespace asio

namespace smux {

template <class Executor>
template <class MutableBufferSequence,
          net::completion_token_for<void(error_code, std::size_t)> ReadToken>
auto basic_stream<Executor>::async_read_some(MutableBufferSequence const& buffers,
                                             ReadToken&& token) {
    return net::async_initiate<ReadToken, void(error_code, std::size_t)>(
        detail::initiate_read_some{}, token, session_, ops_, buffers);
}

template <class Executor>
template <class ConstBufferSequence,
          net::completion_token_for<void(error_code, std::size_t)> WriteToken>
auto basic_stream<Executor>::async_write_some(ConstBufferSequence const& buffers,
                                              WriteToken&& token) {
    return net::async_initiate<WriteToken, void(error_code, std::size_t)>(
        detail::initiate_write_some{}, token, session_, ops_, buffers);
}

template <class Executor>
template <net::completion_token_for<void(error_code)> WaitToken>
auto basic_stream<Executor>::async_wait(wait_type w, WaitToken&& token) {
    return net::async_initiate<WaitToken, void(error_code)>(detail::initiate_wait{}, token,
                                                            session_, ops_, w);
}

template <class Executor>
template <class MutableBufferSequence>
std::size_t basic_stream<Executor>::read_some(MutableBufferSequence const& buffers,
                                              error_code& ec) {
    typename detail::read_op_traits::span_array spans{};
    std::size_t const count = detail::to_spans(buffers, spans);
    if (!ops_) {
        ec = make_error_code(error::stream_closed);
        return 0;
    }
    auto const r = session_->read_now(*ops_, std::span(spans.data(), count));
    ec = r.ec;
    return r.bytes;
}

template <class Executor>
received_buffers basic_stream<Executor>::receive(std::size_t max_bytes, error_code& ec) {
    if (!ops_) {
        ec = make_error_code(error::stream_closed);
        return {};
    }
    return detail::receive_access::receive_now(session_, *ops_, max_bytes, ec);
}

template <class Executor>
template <net::completion_token_for<void(error_code, received_buffers)> ReceiveToken>
auto basic_stream<Executor>::async_receive(std::size_t max_bytes, ReceiveToken&& token) {
    return net::async_initiate<ReceiveToken, void(error_code, received_buffers)>(
        detail::initiate_receive{}, token, session_, ops_, max_bytes);
}

template <class Executor>
std::size_t basic_stream<Executor>::available(error_code& ec) const {
    if (!ops_) {
        ec = make_error_code(error::stream_closed);
        return 0;
    }
    return session_->available(*ops_, ec);
}

template <class Executor>
stream_stats basic_stream<Executor>::stats(error_code& ec) const {
    if (!ops_) {
        ec = make_error_code(error::stream_closed);
        return {};
    }
    return session_->stats_of(*ops_, ec);
}

template <class Executor>
void basic_stream<Executor>::shutdown_send() {
    if (!ops_) {
        return;
    }
    auto const& strand = session_->strand();
    net::dispatch(strand, [s = session_, st = ops_] { s->shutdown_send(*st); });
}

template <class Executor>
void basic_stream<Executor>::cancel() {
    if (!ops_) {
        return;
    }
    auto const& strand = session_->strand();
    net::dispatch(strand, [s = session_, st = ops_] { s->cancel_stream(*st); });
}

template <class Executor>
void basic_stream<Executor>::close() noexcept {
    if (!ops_) {
        return;
    }
    // Posted, never run inline: a handle may die inside the session's own code (for instance
    // with a handler it destroys). The handle keeps the session, so later operations on it
    // still complete on the session's executor.
    auto const& strand = session_->strand();
    try {
        net::post(strand, [s = session_, st = std::move(ops_)] { s->close_stream(st); });
    } catch (...) {
        // Out of memory while closing: the session reclaims the stream when it ends.
    }
}

}  // namespace smux

#endif
