#ifndef SMUX_SRC_CORE_EVENT_QUEUE_HPP
#define SMUX_SRC_CORE_EVENT_QUEUE_HPP

#include <cstddef>
#include <optional>
#include <vector>

#include "smux/core/session.hpp"

namespace smux::core::detail {

/** The engine's events in the order they happened. Popping only advances a cursor; the
    storage is reused once the driver drained it, so steady traffic allocates nothing. */
class event_queue {
  public:
    void push(event const& e) { events_.push_back(e); }

    std::optional<event> pop() noexcept {
        if (head_ >= events_.size()) {
            events_.clear();
            head_ = 0;
            return std::nullopt;
        }
        return events_[head_++];
    }

  private:
    std::vector<event> events_;
    std::size_t head_ = 0;
};

}  // namespace smux::core::detail

#endif
