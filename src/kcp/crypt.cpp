// kcptun's key derivation and its `--crypt` names (KCP.md §2): the CFB block ciphers come
// from OpenSSL (cfb_crypt.cpp), Salsa20 from libsodium; `xor` and `none` are defined here.

#include "smux/kcp/crypt.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <vector>

#include "cfb_crypt.hpp"

namespace smux::kcp {

namespace {

std::vector<std::byte> pbkdf2_sha1(std::span<std::byte const> password, std::string_view salt,
                                   int iterations, std::size_t length) {
    std::vector<std::byte> out(length);
    if (PKCS5_PBKDF2_HMAC_SHA1(reinterpret_cast<char const*>(password.data()),
                               static_cast<int>(password.size()),
                               reinterpret_cast<unsigned char const*>(salt.data()),
                               static_cast<int>(salt.size()), iterations, static_cast<int>(length),
                               reinterpret_cast<unsigned char*>(out.data())) != 1) {
        throw std::runtime_error("smux::kcp: PBKDF2 failed");
    }
    return out;
}

class none_crypt final : public block_crypt {
  public:
    void encrypt(std::span<std::byte>) override {}
    void decrypt(std::span<std::byte>) override {}
};

/// Byte i of a datagram XOR byte i of a 1500-byte table derived from the key.
class xor_crypt final : public block_crypt {
  public:
    explicit xor_crypt(crypt_key const& key)
        : table_(pbkdf2_sha1(key, "sH3CIVoF#rWLtJo6", 32, max_datagram)) {}

    void encrypt(std::span<std::byte> datagram) override { apply(datagram); }
    void decrypt(std::span<std::byte> datagram) override { apply(datagram); }

  private:
    static constexpr std::size_t max_datagram = 1500;

    void apply(std::span<std::byte> datagram) const noexcept {
        for (std::size_t i = 0; i < datagram.size() && i < table_.size(); ++i) {
            datagram[i] ^= table_[i];
        }
    }

    std::vector<std::byte> table_;
};

/// Salsa20/20: bytes 0..7 are the nonce and stay clear; the rest is XORed with the stream.
class salsa20_crypt final : public block_crypt {
  public:
    explicit salsa20_crypt(crypt_key const& key) : key_(key) {
        if (sodium_init() < 0) {
            throw std::runtime_error("smux::kcp: libsodium did not initialise");
        }
    }

    void encrypt(std::span<std::byte> datagram) override { apply(datagram); }
    void decrypt(std::span<std::byte> datagram) override { apply(datagram); }

  private:
    static constexpr std::size_t nonce_bytes = crypto_stream_salsa20_NONCEBYTES;

    void apply(std::span<std::byte> datagram) const noexcept {
        if (datagram.size() <= nonce_bytes) {
            return;
        }
        auto* p = reinterpret_cast<unsigned char*>(datagram.data());
        crypto_stream_salsa20_xor(p + nonce_bytes, p + nonce_bytes, datagram.size() - nonce_bytes,
                                  p, reinterpret_cast<unsigned char const*>(key_.data()));
    }

    crypt_key key_;
};

struct named_cfb {
    std::string_view name;
    detail::cfb_cipher cipher;
};

constexpr std::array<named_cfb, 7> cfb_ciphers{{
    {"aes", {"AES-256", 32}},
    {"aes-128", {"AES-128", 16}},
    {"aes-192", {"AES-192", 24}},
    {"blowfish", {"BF", 32}},
    {"cast5", {"CAST5", 16}},
    {"3des", {"DES-EDE3", 24}},
    {"sm4", {"SM4", 16}},
}};

}  // namespace

crypt_key derive_key(std::string_view password) {
    auto const bytes = pbkdf2_sha1(std::as_bytes(std::span(password)), "kcp-go", 4096, 32);
    crypt_key key{};
    std::copy(bytes.begin(), bytes.end(), key.begin());
    return key;
}

std::string block_crypt::supported_names() {
    std::string out;
    for (auto const& c : cfb_ciphers) {
        out += std::string(c.name) + ", ";
    }
    return out + "salsa20, xor, none";
}

std::unique_ptr<block_crypt> block_crypt::make(std::string_view name, crypt_key const& key) {
    if (name == "none") {
        return std::make_unique<none_crypt>();
    }
    if (name == "xor") {
        return std::make_unique<xor_crypt>(key);
    }
    if (name == "salsa20") {
        return std::make_unique<salsa20_crypt>(key);
    }
    if (name == "twofish" || name == "tea" || name == "xtea") {
        throw unsupported_cipher("smux::kcp: --crypt " + std::string(name) +
                                 " is not supported (no maintained library offers it); "
                                 "supported: " +
                                 supported_names());
    }
    for (auto const& c : cfb_ciphers) {
        if (c.name == name) {
            return detail::make_cfb_crypt(c.cipher, key);
        }
    }
    return detail::make_cfb_crypt(cfb_ciphers[0].cipher, key);  // kcptun: unknown means aes
}

}  // namespace smux::kcp
