// Releasing parked handlers when an execution context is destroyed.

#include "smux/kcp/asio/detail/teardown.hpp"

#include <algorithm>

namespace smux::kcp::detail {

void teardown_service::add(std::weak_ptr<teardown_target> t) {
    std::lock_guard lock(mutex_);
    if (shut_down_) {
        return;
    }
    if (targets_.size() == targets_.capacity()) {  // forget dead ones before growing
        std::erase_if(targets_, [](auto const& w) { return w.expired(); });
    }
    targets_.push_back(std::move(t));
}

// The targets are kept alive while they drop what they hold: dropping one may release the
// last reference to another.
void teardown_service::shutdown() {
    std::vector<std::shared_ptr<teardown_target>> live;
    {
        std::lock_guard lock(mutex_);
        shut_down_ = true;
        for (auto const& w : targets_) {
            if (auto t = w.lock()) {
                live.push_back(std::move(t));
            }
        }
        targets_.clear();
    }
    for (auto const& t : live) {
        t->drop_parked();
    }
}

}  // namespace smux::kcp::detail
