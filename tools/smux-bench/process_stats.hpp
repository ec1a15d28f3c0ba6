#ifndef SMUX_TOOLS_BENCH_PROCESS_STATS_HPP
#define SMUX_TOOLS_BENCH_PROCESS_STATS_HPP

// What a process measures about itself: resident memory and CPU time.

#include <cstdint>

namespace smux_bench {

/// VmRSS of this process (/proc/self/status) in bytes, 0 when unavailable.
[[nodiscard]] std::int64_t read_rss_bytes() noexcept;

struct cpu_times {
    std::int64_t user_us = 0;
    std::int64_t sys_us = 0;

    [[nodiscard]] std::int64_t total_us() const noexcept { return user_us + sys_us; }
};

/// User and system CPU time of this process (getrusage(RUSAGE_SELF)), microseconds.
[[nodiscard]] cpu_times read_cpu_times() noexcept;

/// Raises the soft limit of open files to the hard limit (as Go's runtime does at start), so
/// thousands of connections fit.
void raise_open_file_limit() noexcept;

}  // namespace smux_bench

#endif
