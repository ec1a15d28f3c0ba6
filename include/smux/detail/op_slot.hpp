#ifndef SMUX_DETAIL_OP_SLOT_HPP
#define SMUX_DETAIL_OP_SLOT_HPP

#include <cstddef>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "smux/detail/asio_compat.hpp"

namespace smux::detail {

/** Posts `handler(args...)` to the handler's associated executor (never inline), clearing
    the handler's cancellation slot right before the call, where the emitter runs. */
template <class Handler, class IoExecutor, class... Args>
void post_completion(Handler&& handler, IoExecutor const& io_ex, Args&&... args) {
    auto ex = net::get_associated_executor(handler, io_ex);
    auto alloc = net::get_associated_allocator(handler, net::recycling_allocator<void>());
    net::post(ex, net::bind_allocator(alloc,
                                      [h = std::forward<Handler>(handler),
                                       a = std::make_tuple(std::forward<Args>(args)...)]() mutable {
                                          auto slot = net::get_associated_cancellation_slot(h);
                                          if (slot.is_connected()) {
                                              slot.clear();
                                          }
                                          std::apply(std::move(h), std::move(a));
                                      }));
}

/** Outstanding work for the operations a session has parked: one work guard on the session's
    executor while any is parked, instead of one per operation, so that a parked operation holds
    no copy of the executor (a type-erased strand does not fit the small-object buffer of
    `any_io_executor`: every copy allocates). Used on the session's strand only. */
class parked_work {
  public:
    explicit parked_work(net::any_io_executor ex) : executor_(std::move(ex)) {}
    parked_work(parked_work const&) = delete;
    parked_work& operator=(parked_work const&) = delete;

    [[nodiscard]] net::any_io_executor const& executor() const noexcept { return executor_; }

    void add() {
        if (count_ == 0) {
            guard_.emplace(executor_);
        }
        ++count_;
    }
    void remove() noexcept {
        if (--count_ == 0) {
            guard_.reset();
        }
    }

  private:
    net::any_io_executor executor_;
    std::size_t count_ = 0;
    std::optional<net::executor_work_guard<net::any_io_executor>> guard_;
};

/** The allocator of a parked operation whose handler has none of its own. Not Asio's
    recycling allocator: a parked operation may live as long as its stream idles, and a
    recycled block is as large as whatever used it last (a socket write's is 320 bytes), so an
    idle stream would hold two and a half times what its operation needs. */
using parked_op_allocator = std::allocator<void>;

/// The default per-operation data of an `op_slot`: none.
struct no_op_data {};

template <class Signature, class Data = no_op_data>
class op_slot;

/** A parked completion handler of any type, with a fixed signature (Asio 1.22 has no
    `any_completion_handler`). It keeps work on the handler's executor while parked (through
    the session's `parked_work` when that is the session's own executor, the usual case; with
    a guard of its own otherwise), frees its memory before the handler runs, and always
    completes through `post`.

    The handler's cancellation slot is left to the caller (it is installed where the operation
    starts); `post_completion` clears it just before the upcall.

    `Data` is state that only a pending operation needs (its buffers, its deadline): it lives
    in the operation's allocation, so an idle owner carries one pointer. */
template <class Data, class... Args>
class op_slot<void(Args...), Data> {
    struct base {
        Data data{};
        virtual void complete(Args... args) = 0;
        virtual void destroy() noexcept = 0;

      protected:
        ~base() = default;
    };

    template <class Handler>
    struct op final : base {
        using executor_type = net::associated_executor_t<Handler, net::any_io_executor>;
        using allocator_type = net::associated_allocator_t<Handler, parked_op_allocator>;
        using self_allocator =
            typename std::allocator_traits<allocator_type>::template rebind_alloc<op>;
        // Work is tracked through the `outstanding_work.tracked` property, which every executor
        // model supports: Asio 1.22's executor_work_guard cannot be built for some (a handler
        // bound to a strand<any_io_executor>).
        using own_work = std::decay_t<decltype(net::prefer(
            std::declval<executor_type const&>(), net::execution::outstanding_work.tracked))>;

        // A handler without an executor of its own runs on the session's: no copy of it (a
        // copy of a type-erased strand allocates); the session's guard covers it.
        op(Handler&& h, parked_work& w) : handler(std::move(h)), work(&w) {
            if constexpr (has_own_executor) {
                auto ex = net::get_associated_executor(handler, w.executor());
                bool shared = false;
                if constexpr (std::is_same_v<executor_type, net::any_io_executor>) {
                    shared = ex == w.executor();
                }
                if (!shared) {
                    other_work = std::make_unique<own_work>(
                        net::prefer(std::move(ex), net::execution::outstanding_work.tracked));
                }
            }
            w.add();
        }

        /// A plain callback has no associated executor: it runs on the session's.
        static constexpr bool has_own_executor =
            !std::is_same_v<net::associated_executor_t<Handler, net::system_executor>,
                            net::system_executor>;

        Handler handler;
        parked_work* work;
        std::unique_ptr<own_work> other_work;  ///< only for a handler with its own executor

        static op* create(Handler&& h, parked_work& w) {
            self_allocator alloc(net::get_associated_allocator(h, parked_op_allocator()));
            op* p = std::allocator_traits<self_allocator>::allocate(alloc, 1);
            try {
                std::allocator_traits<self_allocator>::construct(alloc, p, std::move(h), w);
            } catch (...) {
                std::allocator_traits<self_allocator>::deallocate(alloc, p, 1);
                throw;
            }
            return p;
        }

        // Frees the op and hands back what is needed to call the handler.
        std::pair<Handler, parked_work*> release() noexcept {
            self_allocator alloc(net::get_associated_allocator(handler, parked_op_allocator()));
            std::pair<Handler, parked_work*> out(std::move(handler), work);
            std::allocator_traits<self_allocator>::destroy(alloc, this);
            std::allocator_traits<self_allocator>::deallocate(alloc, this, 1);
            return out;
        }

        void complete(Args... args) override {
            auto [h, w] = release();
            // Posted first: the posted handler is work of its own before the guard goes.
            post_completion(std::move(h), w->executor(), std::move(args)...);
            w->remove();
        }

        void destroy() noexcept override {
            auto released = release();
            released.second->remove();
        }
    };

  public:
    op_slot() noexcept = default;
    op_slot(op_slot const&) = delete;
    op_slot& operator=(op_slot const&) = delete;
    op_slot(op_slot&& o) noexcept : op_(std::exchange(o.op_, nullptr)) {}
    op_slot& operator=(op_slot&& o) noexcept {
        if (this != &o) {
            reset();
            op_ = std::exchange(o.op_, nullptr);
        }
        return *this;
    }
    ~op_slot() { reset(); }

    /// Parks `handler`; `work` (the session's) must outlive the slot's operation.
    template <class Handler>
    void emplace(Handler&& handler, parked_work& work) {
        reset();
        op_ = op<std::decay_t<Handler>>::create(std::forward<Handler>(handler), work);
    }

    /// Precondition: engaged. The slot is empty afterwards.
    void complete(Args... args) {
        base* p = std::exchange(op_, nullptr);
        p->complete(std::move(args)...);
    }

    /// Drops the handler without calling it (io_context teardown).
    void reset() noexcept {
        if (base* p = std::exchange(op_, nullptr)) {
            p->destroy();
        }
    }

    /// The pending operation's data. Precondition: engaged.
    [[nodiscard]] Data& data() noexcept { return op_->data; }
    [[nodiscard]] Data const& data() const noexcept { return op_->data; }

    /// Engaged: an operation is parked.
    explicit operator bool() const noexcept { return op_ != nullptr; }

  private:
    base* op_ = nullptr;
};

}  // namespace smux::detail

#endif
