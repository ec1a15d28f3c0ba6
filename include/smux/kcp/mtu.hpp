#ifndef SMUX_KCP_MTU_HPP
#define SMUX_KCP_MTU_HPP

#include <cstddef>

namespace smux::kcp {

/// The largest datagram kcp-go reads or writes (its `mtuLimit`), in every layer: KCP segments,
/// FEC data and parity shards, the crypt header included.
inline constexpr std::size_t mtu_limit = 1500;

}  // namespace smux::kcp

#endif
