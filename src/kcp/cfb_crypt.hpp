#ifndef SMUX_SRC_KCP_CFB_CRYPT_HPP
#define SMUX_SRC_KCP_CFB_CRYPT_HPP

#include <cstddef>
#include <memory>
#include <span>

#include "smux/kcp/crypt.hpp"

namespace smux::kcp::detail {

/// An OpenSSL cipher family ("AES-256", "BF", ...), named with "-CFB" or "-ECB" appended, and
/// the key bytes kcptun gives it.
struct cfb_cipher {
    char const* openssl_family;
    std::size_t key_bytes;
};

/** kcp-go's CFB (KCP.md §2): full-block CFB over the whole datagram from byte 0, the same
    constant IV for every datagram, no padding, the last partial block XORed with the head of
    its keystream block. OpenSSL's *-CFB modes produce exactly that; decryption runs as one ECB
    pass instead (cfb_crypt.cpp). */
[[nodiscard]] std::unique_ptr<block_crypt> make_cfb_crypt(cfb_cipher const& c,
                                                          crypt_key const& key);

}  // namespace smux::kcp::detail

#endif
