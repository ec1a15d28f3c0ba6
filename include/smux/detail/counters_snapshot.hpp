#ifndef SMUX_DETAIL_COUNTERS_SNAPSHOT_HPP
#define SMUX_DETAIL_COUNTERS_SNAPSHOT_HPP

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "smux/counters.hpp"

namespace smux::detail {

/** The latest published copy of a session's counters: written on the session's strand, read
    from any thread without a lock (a sequence lock: a reader retries while a publication is
    under way, so it never sees half of one). Copies the struct word by word, whatever its
    fields. */
class counters_snapshot {
  public:
    /// The session's strand only (one writer).
    void publish(session_counters const& c) noexcept {
        auto const words = std::bit_cast<word_array>(c);
        std::uint64_t const seq = sequence_.load(std::memory_order_relaxed);
        sequence_.store(seq + 1, std::memory_order_relaxed);  // odd: a publication under way
        std::atomic_thread_fence(std::memory_order_release);
        for (std::size_t i = 0; i < word_count; ++i) {
            words_[i].store(words[i], std::memory_order_relaxed);
        }
        sequence_.store(seq + 2, std::memory_order_release);
    }

    /// Any thread.
    [[nodiscard]] session_counters load() const noexcept {
        word_array words{};
        for (;;) {
            std::uint64_t const before = sequence_.load(std::memory_order_acquire);
            for (std::size_t i = 0; i < word_count; ++i) {
                words[i] = words_[i].load(std::memory_order_relaxed);
            }
            std::atomic_thread_fence(std::memory_order_acquire);
            if ((before & 1U) == 0 && sequence_.load(std::memory_order_relaxed) == before) {
                return std::bit_cast<session_counters>(words);
            }
        }
    }

  private:
    static constexpr std::size_t word_count = sizeof(session_counters) / sizeof(std::uint64_t);
    static_assert(sizeof(session_counters) == word_count * sizeof(std::uint64_t),
                  "every counter is a std::uint64_t");
    using word_array = std::array<std::uint64_t, word_count>;

    std::atomic<std::uint64_t> sequence_{0};
    std::array<std::atomic<std::uint64_t>, word_count> words_{};
};

}  // namespace smux::detail

#endif
