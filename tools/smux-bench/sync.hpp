#ifndef SMUX_TOOLS_BENCH_SYNC_HPP
#define SMUX_TOOLS_BENCH_SYNC_HPP

// Meeting points of the client's coroutines. With --threads the workers of one run live on
// several io_contexts (one per thread), so these may be set and awaited from any thread.

#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

namespace smux_bench {

/** A one-shot event: `wait` returns once `set` was called (before or after). A waiter resumes
    on its own executor, never inside `set`. Any thread may set or wait. */
class event {
  public:
    void set();
    asio::awaitable<void> wait();

  private:
    /// Parks `resume` until `set`, or posts it at once when the event is set already.
    void park(std::function<void()> resume);

    std::mutex mutex_;
    bool set_ = false;
    std::vector<std::function<void()>> waiters_;
};

/// Counts down to zero, then sets its event. Any thread may count down or wait.
class countdown {
  public:
    explicit countdown(std::size_t count) : left_(count) {
        if (count == 0) {
            done_.set();
        }
    }
    void count_down() {
        if (left_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            done_.set();
        }
    }
    asio::awaitable<void> wait() { return done_.wait(); }

  private:
    std::atomic<std::size_t> left_;
    event done_;
};

}  // namespace smux_bench

#endif
