#include "process_stats.hpp"

#include <sys/resource.h>
#include <sys/time.h>

#include <cstdio>
#include <cstring>

namespace smux_bench {

std::int64_t read_rss_bytes() noexcept {
    std::FILE* f = std::fopen("/proc/self/status", "re");
    if (f == nullptr) {
        return 0;
    }
    std::int64_t rss = 0;
    char line[256];
    while (std::fgets(line, sizeof line, f) != nullptr) {
        if (std::strncmp(line, "VmRSS:", 6) == 0) {
            long long kib = 0;
            if (std::sscanf(line + 6, "%lld", &kib) == 1) {
                rss = static_cast<std::int64_t>(kib) * 1024;
            }
            break;
        }
    }
    std::fclose(f);
    return rss;
}

cpu_times read_cpu_times() noexcept {
    rusage ru{};
    if (::getrusage(RUSAGE_SELF, &ru) != 0) {
        return {};
    }
    auto us = [](timeval const& tv) {
        return static_cast<std::int64_t>(tv.tv_sec) * 1'000'000 +
               static_cast<std::int64_t>(tv.tv_usec);
    };
    return cpu_times{.user_us = us(ru.ru_utime), .sys_us = us(ru.ru_stime)};
}

void raise_open_file_limit() noexcept {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        (void)::setrlimit(RLIMIT_NOFILE, &lim);
    }
}

}  // namespace smux_bench
