#include "io_pool.hpp"

#include <thread>

#include "net_util.hpp"

namespace smux_bench {

io_pool::io_pool(int threads) {
    auto const n = static_cast<std::size_t>(threads < 1 ? 1 : threads);
    contexts_.reserve(n);
    guards_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        // Concurrency hint 1: each context is run by exactly one thread.
        contexts_.push_back(std::make_unique<asio::io_context>(1));
        if (i > 0) {
            guards_.emplace_back(asio::make_work_guard(*contexts_[i]));
        }
    }
}

void io_pool::run(std::chrono::microseconds spin) {
    std::vector<std::jthread> threads;
    threads.reserve(contexts_.size() - 1);
    for (std::size_t i = 1; i < contexts_.size(); ++i) {
        threads.emplace_back([this, i, spin] { run_loop(*contexts_[i], spin); });
    }
    run_loop(*contexts_[0], spin);
    // jthread joins when `threads` goes out of scope.
}

void io_pool::stop() noexcept {
    for (auto& c : contexts_) {
        c->stop();
    }
}

void io_pool::release() noexcept {
    for (auto& g : guards_) {
        g.reset();  // the work count is atomic: any thread may drop it
    }
}

}  // namespace smux_bench
