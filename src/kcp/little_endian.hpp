#ifndef SMUX_SRC_KCP_LITTLE_ENDIAN_HPP
#define SMUX_SRC_KCP_LITTLE_ENDIAN_HPP

#include <cstddef>
#include <cstdint>

namespace smux::kcp::detail {

/// Every kcp-go header field is little-endian (KCP.md §1).
template <class T>
void put_le(std::byte* at, T v) noexcept {
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        at[i] = static_cast<std::byte>(static_cast<std::uint64_t>(v) >> (8 * i));
    }
}

template <class T>
[[nodiscard]] T get_le(std::byte const* at) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        v |= std::to_integer<std::uint64_t>(at[i]) << (8 * i);
    }
    return static_cast<T>(v);
}

}  // namespace smux::kcp::detail

#endif
