#ifndef SMUX_FUZZ_KCP_FUZZ_INPUT_HPP
#define SMUX_FUZZ_KCP_FUZZ_INPUT_HPP

// The KCP targets read their input front to back (unlike FuzzedDataProvider, which takes
// integers from the end), so make_seeds.py can write exact datagrams into the seed corpus:
// a few configuration bytes, then records of an operation byte and its operands.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

namespace smux::fuzz {

[[noreturn]] inline void kcp_fail(char const* what) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
}

inline void kcp_check(bool ok, char const* what) {
    if (!ok) {
        kcp_fail(what);
    }
}

/// Reads the fuzz input from the front; past the end every read yields zeros / nothing.
class input_reader {
  public:
    input_reader(std::uint8_t const* data, std::size_t size) noexcept
        : rest_(reinterpret_cast<std::byte const*>(data), size) {}

    [[nodiscard]] bool empty() const noexcept { return rest_.empty(); }

    std::uint8_t u8() noexcept {
        if (rest_.empty()) {
            return 0;
        }
        auto const v = static_cast<std::uint8_t>(rest_.front());
        rest_ = rest_.subspan(1);
        return v;
    }

    /// Little-endian, as the seeds are written.
    std::uint16_t u16() noexcept {
        auto const lo = u8();
        return static_cast<std::uint16_t>(lo | (u8() << 8));
    }

    /// Up to `n` bytes (fewer at the end of the input).
    std::span<std::byte const> bytes(std::size_t n) noexcept {
        auto const out = rest_.first(std::min(n, rest_.size()));
        rest_ = rest_.subspan(out.size());
        return out;
    }

  private:
    std::span<std::byte const> rest_;
};

}  // namespace smux::fuzz

#endif
