#ifndef SMUX_TOOLS_BENCH_RESULT_HPP
#define SMUX_TOOLS_BENCH_RESULT_HPP

// The client's result line (section 6 of the contract) and what feeds it.

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "options.hpp"

namespace smux_bench {

/// "cpp-smux-" and the library version.
[[nodiscard]] std::string_view impl_name() noexcept;

/// Decimals of section 6's rounding.
inline constexpr int rate_decimals = 1;     // mb_per_s, ops_per_s, streams_per_s, bytes/stream
inline constexpr int latency_decimals = 1;  // microseconds: 0.1 us
inline constexpr int elapsed_decimals = 4;  // seconds: 0.1 ms
inline constexpr int cpu_decimals = 3;      // seconds: 1 ms
inline constexpr int exact = -1;

/// `s` as a JSON string literal.
[[nodiscard]] std::string json_quote(std::string_view s);

/// One JSON object whose fields keep the order they are added in.
class json_line {
  public:
    void str(std::string_view key, std::string_view value);
    void integer(std::string_view key, std::int64_t value);
    /// `value` rounded half away from zero to `decimals` (exact: as is), in the shortest
    /// decimal form without exponent (3 prints as 3); NaN and infinities print as 0.
    void number(std::string_view key, double value, int decimals);
    void boolean(std::string_view key, bool value);
    [[nodiscard]] std::string finish() const { return text_ + "}"; }

  private:
    void key(std::string_view k);
    std::string text_;
};

/// Failed streams and operations; keeps the first message. Workers on any thread may add; the
/// totals are read once they are done.
class error_log {
  public:
    void add(std::string message) {
        std::lock_guard lock(mutex_);
        if (count_ == 0) {
            first_ = std::move(message);
        }
        ++count_;
    }
    [[nodiscard]] std::int64_t count() const {
        std::lock_guard lock(mutex_);
        return count_;
    }
    [[nodiscard]] std::string first() const {
        std::lock_guard lock(mutex_);
        return first_;
    }

  private:
    mutable std::mutex mutex_;
    std::int64_t count_ = 0;
    std::string first_;
};

/// The fields every result line starts with (tool .. duration_s).
void add_param_fields(json_line& j, client_options const& o);

/// The line of a run that failed before (or instead of) measuring.
[[nodiscard]] std::string failure_line(client_options const& o, std::int64_t errors,
                                       std::string_view message);

/// mean_us, p50_us, p90_us, p99_us, max_us over `samples_ns` (sorted in place), nearest rank.
void add_latency_fields(json_line& j, std::vector<std::int64_t>& samples_ns);

/// amount / seconds, 0 when no time elapsed.
[[nodiscard]] double rate(double amount, double seconds) noexcept;

}  // namespace smux_bench

#endif
