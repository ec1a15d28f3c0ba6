// The live sessions of one execution context, so that destroying the context can release
// the handlers parked in them.

#include "smux/detail/session_registry.hpp"

#include <memory>
#include <vector>

#include "smux/detail/session_driver.hpp"

namespace smux::detail {

void session_registry::add(session_driver& s) {
    std::lock_guard lock(mutex_);
    if (shut_down_) {
        return;
    }
    s.registry_next_ = head_;
    if (head_ != nullptr) {
        head_->registry_prev_ = &s;
    }
    head_ = &s;
}

void session_registry::remove(session_driver& s) noexcept {
    std::lock_guard lock(mutex_);
    if (s.registry_prev_ != nullptr) {
        s.registry_prev_->registry_next_ = s.registry_next_;
    } else if (head_ == &s) {
        head_ = s.registry_next_;
    }
    if (s.registry_next_ != nullptr) {
        s.registry_next_->registry_prev_ = s.registry_prev_;
    }
    s.registry_prev_ = s.registry_next_ = nullptr;
}

void session_registry::shutdown() {
    // Handlers may own the last reference to a session: keep each alive while it drops its
    // handlers, and work on a snapshot because a dying session unlinks itself.
    std::vector<std::shared_ptr<session_driver>> live;
    {
        std::lock_guard lock(mutex_);
        shut_down_ = true;
        for (session_driver* s = head_; s != nullptr; s = s->registry_next_) {
            if (auto p = s->weak_from_this().lock()) {
                live.push_back(std::move(p));
            }
        }
    }
    for (auto& s : live) {
        s->destroy_parked_ops();
    }
}

}  // namespace smux::detail
