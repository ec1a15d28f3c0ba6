#ifndef SMUX_KCP_CRYPT_HPP
#define SMUX_KCP_CRYPT_HPP

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "smux/kcp/export.hpp"

/** kcp-go's datagram encryption as kcptun configures it (KCP.md §2): the key derivation and
    the `--crypt` ciphers, built on maintained libraries (OpenSSL for the block ciphers and
    PBKDF2, libsodium for Salsa20). */
namespace smux::kcp {

/// The 32-byte key kcptun derives from `--key`: PBKDF2-HMAC-SHA1(key, "kcp-go", 4096, 32).
using crypt_key = std::array<std::byte, 32>;
/// The key kcptun derives from `password` (its `--key`).
[[nodiscard]] SMUX_KCP_EXPORT crypt_key derive_key(std::string_view password);

/// kcptun's default `--key`.
inline constexpr std::string_view default_password = "it's a secrect";

/// A `--crypt` value this build cannot serve; the message lists the ones it can.
class SMUX_KCP_EXPORT unsupported_cipher : public std::invalid_argument {
  public:
    using std::invalid_argument::invalid_argument;
};

/** Encrypts and decrypts whole datagrams in place, as kcp-go's BlockCrypt for one `--crypt`
    value. One object per session (not thread-safe: it holds cipher contexts). */
class SMUX_KCP_EXPORT block_crypt {
  public:
    virtual ~block_crypt() = default;
    /// Encrypts a whole datagram in place (its crypt header included).
    virtual void encrypt(std::span<std::byte> datagram) = 0;
    /// Decrypts a whole datagram in place.
    virtual void decrypt(std::span<std::byte> datagram) = 0;

    /** Datagrams `encrypt_many` runs side by side to advantage: more than 1 for a cipher whose
        blocks chain within a datagram (CFB), so that independent chains fill the CPU's
        pipeline. */
    [[nodiscard]] virtual std::size_t lanes() const noexcept { return 1; }
    /// Encrypts each datagram in place, as `encrypt` would one by one.
    virtual void encrypt_many(std::span<std::span<std::byte> const> datagrams) {
        for (std::span<std::byte> d : datagrams) {
            encrypt(d);
        }
    }

    /** The cipher kcptun uses for `name` with `key`: `aes` (and, as in kcptun, any name it
        does not know), `aes-128`, `aes-192`, `salsa20`, `blowfish`, `cast5`, `3des`, `sm4`,
        `xor`, `none`. @throws unsupported_cipher for `twofish`, `tea` and `xtea` (no
        maintained library offers them), naming what is supported. */
    [[nodiscard]] static std::unique_ptr<block_crypt> make(std::string_view name,
                                                           crypt_key const& key);

    /// The `--crypt` values `make` accepts, comma separated.
    [[nodiscard]] static std::string supported_names();
};

}  // namespace smux::kcp

#endif
