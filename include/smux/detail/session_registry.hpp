#ifndef SMUX_DETAIL_SESSION_REGISTRY_HPP
#define SMUX_DETAIL_SESSION_REGISTRY_HPP

#include <memory>
#include <mutex>

#include "smux/detail/asio_compat.hpp"
#include "smux/export.hpp"

namespace smux::detail {

class session_driver;

/// The live sessions of one execution context. Shared by the context's service and by the
/// sessions, so a session that outlives the service (destroyed with the context's queued
/// handlers) can still unlink itself safely.
class SMUX_EXPORT session_registry {
  public:
    void add(session_driver& s);
    void remove(session_driver& s) noexcept;
    /// Drops the parked handlers of every live session; later sessions are not tracked.
    void shutdown();

  private:
    std::mutex mutex_;
    session_driver* head_ = nullptr;
    bool shut_down_ = false;
};

/// Destroying an execution context releases the handlers parked in its sessions (they may own
/// the coroutines that own the sessions: without this, such cycles would leak).
class session_service : public net::execution_context::service {
  public:
    static inline net::execution_context::id id;  // NOLINT: Asio's service key

    explicit session_service(net::execution_context& ctx)
        : net::execution_context::service(ctx), registry_(std::make_shared<session_registry>()) {}
    [[nodiscard]] std::shared_ptr<session_registry> const& registry() const noexcept {
        return registry_;
    }
    void shutdown() override { registry_->shutdown(); }

  private:
    std::shared_ptr<session_registry> registry_;
};

}  // namespace smux::detail

#endif
