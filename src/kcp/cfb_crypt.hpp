#ifndef SMUX_SRC_KCP_CFB_CRYPT_HPP
#define SMUX_SRC_KCP_CFB_CRYPT_HPP

#include <cstddef>
#include <memory>
#include <span>

#include "smux/kcp/crypt.hpp"

namespace smux::kcp::detail {

/// An OpenSSL cipher name ("AES-256-CFB", "BF-CFB", ...) and the key bytes kcptun gives it.
struct cfb_cipher {
    char const* openssl_name;
    std::size_t key_bytes;
};

/** kcp-go's CFB (KCP.md §2): full-block CFB over the whole datagram from byte 0, the same
    constant IV for every datagram, no padding; OpenSSL's *-CFB modes produce exactly that. */
[[nodiscard]] std::unique_ptr<block_crypt> make_cfb_crypt(cfb_cipher const& c,
                                                          crypt_key const& key);

}  // namespace smux::kcp::detail

#endif
