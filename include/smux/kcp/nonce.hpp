#ifndef SMUX_KCP_NONCE_HPP
#define SMUX_KCP_NONCE_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "smux/kcp/export.hpp"

namespace smux::kcp {

/** Unpredictable 16-byte datagram nonces (KCP.md §2: the receiver never checks them; they
    only randomise the CFB chain). A ChaCha20 keystream under a key drawn from the OS RNG, so
    a nonce costs no system call (kcp-go: AES-128 over a random seed, entropy.go). Not
    thread-safe: one per conversation or per listener. */
class SMUX_KCP_EXPORT nonce_source {
  public:
    nonce_source();
    /// Writes fresh random bytes over `out` (a nonce is its first 16 bytes).
    void fill(std::span<std::byte> out) noexcept;

  private:
    void refill() noexcept;

    std::array<unsigned char, 32> key_{};
    std::uint64_t counter_ = 0;
    std::array<std::byte, 4096> pool_{};
    std::size_t used_ = 4096;
};

/// A conversation id as kcp-go's dialer picks it: 4 bytes of the OS RNG, read little-endian.
[[nodiscard]] SMUX_KCP_EXPORT std::uint32_t random_conv();

}  // namespace smux::kcp

#endif
