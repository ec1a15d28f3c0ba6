#ifndef SMUX_TOOLS_BENCH_IO_POOL_HPP
#define SMUX_TOOLS_BENCH_IO_POOL_HPP

// --threads N: N threads, one io_context each. A connection (a smux session with all its
// streams, or a raw connection) and every coroutine serving it live on one of them, chosen
// round-robin, so nothing of one connection ever runs on two threads: the handlers need no
// strand and no lock, as with one thread, and a server uses more cores by running more
// sessions, as the library intends. One pool of threads sharing one io_context would instead
// move a session's handlers between threads (the session's strand keeps them in order, at the
// cost of hand-offs between cores).

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

namespace smux_bench {

class io_pool {
  public:
    explicit io_pool(int threads);
    io_pool(io_pool const&) = delete;
    io_pool& operator=(io_pool const&) = delete;
    /// Destroys the contexts, and with them the handlers still suspended on them: whatever
    /// those handlers touch as they unwind must outlive the pool.
    ~io_pool() = default;

    [[nodiscard]] std::size_t size() const noexcept { return contexts_.size(); }

    /// Context i mod size(); context 0 runs on the thread that calls `run`.
    [[nodiscard]] asio::io_context& context(std::size_t i) noexcept {
        return *contexts_[i % contexts_.size()];
    }

    /// The next context in round-robin order (one caller at a time).
    [[nodiscard]] asio::io_context& next() noexcept { return context(next_++); }

    /** Runs context 0 on the calling thread and every other context on a thread of its own,
        each with `spin` as run_loop does; returns once all of them returned. Contexts 1..N-1
        keep running while idle until `stop` or `release`. */
    void run(std::chrono::microseconds spin);

    /// Stops every context (any thread).
    void stop() noexcept;

    /// Lets contexts 1..N-1 return once they run out of work (any thread, once).
    void release() noexcept;

  private:
    using guard = asio::executor_work_guard<asio::io_context::executor_type>;

    std::vector<std::unique_ptr<asio::io_context>> contexts_;
    std::vector<std::optional<guard>> guards_;  // contexts 1..N-1
    std::size_t next_ = 0;
};

}  // namespace smux_bench

#endif
