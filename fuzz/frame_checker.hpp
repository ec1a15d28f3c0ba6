#ifndef SMUX_FUZZ_FRAME_CHECKER_HPP
#define SMUX_FUZZ_FRAME_CHECKER_HPP

// Parses what an engine sends and aborts on any frame a correct peer must never emit.

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <smux/core/frame.hpp>
#include <smux/core/session.hpp>
#include <span>
#include <vector>

namespace smux::fuzz {

[[noreturn]] inline void fail(char const* what) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
}

inline void check(bool ok, char const* what) {
    if (!ok) {
        fail(what);
    }
}

class frame_checker {
  public:
    frame_checker(int version, core::role sender, std::int64_t max_frame_size)
        : version_(version),
          sender_(sender),
          max_frame_(static_cast<std::size_t>(max_frame_size)) {}

    void feed(std::span<std::byte const> bytes) {
        for (std::byte b : bytes) {
            if (payload_left_ > 0) {
                --payload_left_;
                continue;
            }
            header_[staged_++] = b;
            if (staged_ < core::header_size) {
                continue;
            }
            staged_ = 0;
            auto const h = core::decode_header(std::span<std::byte const, 8>(header_));
            check(!core::validate_header(h, version_), "emitted frame fails validation");
            if (h.cmd == core::command::psh) {
                check(h.length > 0, "empty PSH emitted");
                check(h.length <= max_frame_, "PSH longer than max_frame_size");
            }
            if (h.cmd == core::command::syn) {
                bool const odd = (h.sid & 1U) != 0;
                check(h.sid != 0 && odd == (sender_ == core::role::client), "SYN with a wrong id");
            }
            payload_left_ = h.length;
        }
    }

    /// Sends everything the engine wants to send, committing in pieces of `step` bytes.
    void drain(core::session& s, std::size_t step) {
        for (int rounds = 0; rounds < 1'000'000 && s.want_write(); ++rounds) {
            auto segments = s.prepare_send();
            if (segments.empty()) {
                break;
            }
            std::size_t total = 0;
            for (auto seg : segments) {
                total += seg.size();
            }
            std::size_t const n = std::min(total, std::max<std::size_t>(step, 1));
            std::size_t left = n;
            for (auto seg : segments) {
                std::size_t const k = std::min(left, seg.size());
                feed(seg.first(k));
                left -= k;
                if (left == 0) {
                    break;
                }
            }
            s.commit_send(n);
        }
    }

  private:
    int version_;
    core::role sender_;
    std::size_t max_frame_;
    std::byte header_[core::header_size]{};
    std::size_t staged_ = 0;
    std::size_t payload_left_ = 0;
};

/// Bounds that hold whatever the peer sends (see SECURITY.md).
inline void check_memory_bounds(core::session const& s) {
    auto const c = s.counters();
    auto const& cfg = s.configuration();
    check(c.buffered_bytes <= static_cast<std::uint64_t>(cfg.max_receive_buffer) + 65'535,
          "buffered bytes above max_receive_buffer plus one frame");
    check(c.streams_open <= static_cast<std::uint64_t>(cfg.max_streams) + 1'000'000,
          "stream table unbounded");
}

}  // namespace smux::fuzz

#endif
