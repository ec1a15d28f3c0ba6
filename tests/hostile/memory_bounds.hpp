#ifndef SMUX_TESTS_HOSTILE_MEMORY_BOUNDS_HPP
#define SMUX_TESTS_HOSTILE_MEMORY_BOUNDS_HPP

// The memory bounds of SECURITY.md, the TCP buffer limits of the machine and a process's
// resident memory read from /proc.

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "hostile_targets.hpp"
#include "smux-echo/echo_server.hpp"

namespace smux_hostile {

// ---- memory bounds

/// SECURITY.md, "Bounded memory": per stream, "about 700 bytes of state while idle".
inline constexpr std::int64_t library_stream_bytes = 700;

/** What one session may hold on behalf of its peer, SECURITY.md "Bounded memory":
        max_receive_buffer + max(2 x max_receive_buffer, 256 KiB) + streams x 700 B + 256 KiB
    with `streams` the streams the peer can have open (at most max_streams). */
inline std::int64_t session_memory_bound(server_options const& o, std::int64_t streams) {
    return o.max_receive_buffer + std::max(2 * o.max_receive_buffer, 256 * KiB) +
           std::min(streams, o.max_streams) * library_stream_bytes + 256 * KiB;
}

/** What the smux-echo tool itself may need per accepted stream, on top of the library's
    (SECURITY.md, "Bounded memory": 512 B per idle stream): its streams are driven by
    callbacks and hold, while idle, a small object and the handler of a parked wait; no
    coroutine frame, no buffer. With the library's 700 B this bounds the 100,000-SYN flood
    (65,536 streams) at 88 MiB of growth, under the 256 MiB and its 100 MiB goal. */
inline constexpr std::int64_t echo_stream_bytes = 512;

// ---- /proc

inline std::int64_t tcp_buffer_max(char const* sysctl, std::int64_t linux_default) {
    std::ifstream in(sysctl);
    std::int64_t min = 0;
    std::int64_t def = 0;
    std::int64_t max = 0;
    if (in >> min >> def >> max && max > 0) {
        return max;
    }
    return linux_default;
}

/// The largest send buffer TCP autotuning may give a socket (tcp_wmem's maximum): a peer that
/// never reads must send more than this before a server's writes block.
inline std::int64_t tcp_send_buffer_max() {
    return tcp_buffer_max("/proc/sys/net/ipv4/tcp_wmem", 4 * MiB);
}

/// The largest receive buffer TCP autotuning may give a socket (tcp_rmem's maximum): bytes a
/// server does not read can wait there before its peer's writes block.
inline std::int64_t tcp_receive_buffer_max() {
    return tcp_buffer_max("/proc/sys/net/ipv4/tcp_rmem", 6 * MiB);
}

struct memory_sample {
    std::int64_t rss = 0;  ///< VmRSS, bytes
    std::int64_t hwm = 0;  ///< VmHWM (peak resident), bytes
};

inline std::optional<memory_sample> read_memory(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    if (!in) {
        return std::nullopt;
    }
    memory_sample m;
    bool rss = false;
    bool hwm = false;
    for (std::string line; std::getline(in, line);) {
        std::int64_t* field = nullptr;
        if (line.rfind("VmRSS:", 0) == 0) {
            field = &m.rss;
            rss = true;
        } else if (line.rfind("VmHWM:", 0) == 0) {
            field = &m.hwm;
            hwm = true;
        }
        if (field != nullptr) {
            std::istringstream fields(line.substr(6));
            std::int64_t kib = 0;
            fields >> kib;
            *field = kib * KiB;
        }
    }
    if (!rss || !hwm) {
        return std::nullopt;
    }
    return m;
}

inline std::string mib(std::int64_t bytes) {
    std::ostringstream o;
    o.setf(std::ios::fixed);
    o.precision(2);
    o << static_cast<double>(bytes) / static_cast<double>(MiB) << " MiB";
    return o.str();
}

}  // namespace smux_hostile

#endif
