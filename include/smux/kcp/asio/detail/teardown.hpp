#ifndef SMUX_KCP_ASIO_DETAIL_TEARDOWN_HPP
#define SMUX_KCP_ASIO_DETAIL_TEARDOWN_HPP

#include <memory>
#include <mutex>
#include <vector>

#include "smux/detail/asio_compat.hpp"
#include "smux/kcp/asio/export.hpp"

namespace smux::kcp::detail {

/// Something that parks handlers (which may own it, through a coroutine frame) or links
/// to objects that link back: it must drop them when its execution context goes away.
class SMUX_KCP_ASIO_EXPORT teardown_target {
  public:
    /// The context is being destroyed: drop parked handlers and links without calling them.
    virtual void drop_parked() noexcept = 0;

  protected:
    ~teardown_target() = default;
};

/** The KCP objects of one execution context, by weak reference. Destroying the context
    releases what they park (smux's session_service does the same for sessions): without
    it, a conversation parked in a coroutine that owns its stream, or a listener and its
    conversations, would keep each other alive. */
class SMUX_KCP_ASIO_EXPORT teardown_service : public net::execution_context::service {
  public:
    static inline net::execution_context::id id;  // NOLINT: Asio's service key

    explicit teardown_service(net::execution_context& ctx) : service(ctx) {}

    /// Tracks `t`, which must be owned by a shared_ptr.
    template <class T>
    static void track(net::any_io_executor const& ex, std::shared_ptr<T> const& t) {
        auto& ctx = net::query(ex, net::execution::context);
        net::use_service<teardown_service>(ctx).add(t);
    }

    void add(std::weak_ptr<teardown_target> t);
    void shutdown() override;

  private:
    std::mutex mutex_;
    std::vector<std::weak_ptr<teardown_target>> targets_;
    bool shut_down_ = false;
};

}  // namespace smux::kcp::detail

#endif
