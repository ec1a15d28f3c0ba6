#ifndef SMUX_KCP_ASIO_DETAIL_PARKED_OP_HPP
#define SMUX_KCP_ASIO_DETAIL_PARKED_OP_HPP

#include <memory>
#include <type_traits>
#include <utility>

#include <asio/execution/outstanding_work.hpp>
#include <asio/prefer.hpp>

#include "smux/detail/asio_compat.hpp"
#include "smux/detail/op_slot.hpp"

namespace smux::kcp::detail {

template <class Signature, class Data>
class parked_op;

/** A parked completion handler of any type with a fixed signature. Work on the handler's
    executor is tracked with Asio's `outstanding_work.tracked` property, which every
    standard executor supports, strands of type-erased executors included (smux's op_slot
    uses executor_work_guard, which Asio 1.22 cannot build for those: a smux session parks
    its transport reads here with a strand-bound handler). Memory is freed before the
    handler runs, which is always posted (`smux::detail::post_completion`). */
template <class Data, class... Args>
class parked_op<void(Args...), Data> {
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
        using work_type = std::decay_t<decltype(net::prefer(
            std::declval<executor_type const&>(), net::execution::outstanding_work.tracked))>;

        op(Handler&& h, net::any_io_executor const& io)
            : handler(std::move(h)),
              work(net::prefer(net::get_associated_executor(handler, io),
                               net::execution::outstanding_work.tracked)),
              io_ex(io) {}

        Handler handler;
        work_type work;
        net::any_io_executor io_ex;

        void complete(Args... args) override {
            std::unique_ptr<op> self(this);
            Handler h(std::move(handler));
            net::any_io_executor ex = std::move(io_ex);
            work_type w = std::move(work);  // released after the post below
            self.reset();
            smux::detail::post_completion(std::move(h), ex, std::move(args)...);
        }
        void destroy() noexcept override { delete this; }
    };

  public:
    parked_op() noexcept = default;
    parked_op(parked_op const&) = delete;
    parked_op& operator=(parked_op const&) = delete;
    ~parked_op() { reset(); }

    /// Parks `handler`; `io_ex` is the executor used when the handler has none.
    template <class Handler>
    void emplace(Handler&& handler, net::any_io_executor const& io_ex) {
        reset();
        op_ = new op<std::decay_t<Handler>>(std::forward<Handler>(handler), io_ex);
    }

    /// Precondition: engaged. Empty afterwards.
    void complete(Args... args) {
        base* p = std::exchange(op_, nullptr);
        p->complete(std::move(args)...);
    }

    void reset() noexcept {
        if (base* p = std::exchange(op_, nullptr)) {
            p->destroy();
        }
    }

    [[nodiscard]] Data& data() noexcept { return op_->data; }
    explicit operator bool() const noexcept { return op_ != nullptr; }

  private:
    base* op_ = nullptr;
};

}  // namespace smux::kcp::detail

#endif
