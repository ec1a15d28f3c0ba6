#include "sync.hpp"

#include <asio/associated_executor.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>
#include <utility>

namespace smux_bench {

void event::set() {
    std::vector<std::function<void()>> waiters;
    {
        std::lock_guard lock(mutex_);
        set_ = true;
        waiters.swap(waiters_);
    }
    for (auto& resume : waiters) {
        resume();
    }
}

void event::park(std::function<void()> resume) {
    {
        std::lock_guard lock(mutex_);
        if (!set_) {
            waiters_.push_back(std::move(resume));
            return;
        }
    }
    resume();
}

asio::awaitable<void> event::wait() {
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [this](auto handler) {
            // The coroutine's handler is move-only; std::function needs a copyable callable.
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            park([shared] {
                auto const ex = asio::get_associated_executor(*shared);
                asio::post(ex, std::move(*shared));
            });
        },
        asio::use_awaitable);
}

}  // namespace smux_bench
