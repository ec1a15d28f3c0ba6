#ifndef SMUX_SRC_KCP_WRAP_HPP
#define SMUX_SRC_KCP_WRAP_HPP

#include <cstdint>

namespace smux::kcp::detail {

/// kcp-go's _itimediff: clocks and sequence numbers wrap, so compare them by their signed
/// 32-bit difference. Computed in unsigned arithmetic, which wraps as Go's int32 does.
[[nodiscard]] constexpr std::int32_t diff(std::uint32_t later, std::uint32_t earlier) noexcept {
    return static_cast<std::int32_t>(later - earlier);
}

/// Go's int32 + and - wrap; C++'s overflow is undefined, so go through uint32.
[[nodiscard]] constexpr std::int32_t wrap_add(std::int32_t a, std::int32_t b) noexcept {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(a) + static_cast<std::uint32_t>(b));
}

[[nodiscard]] constexpr std::int32_t wrap_sub(std::int32_t a, std::int32_t b) noexcept {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(a) - static_cast<std::uint32_t>(b));
}

}  // namespace smux::kcp::detail

#endif
