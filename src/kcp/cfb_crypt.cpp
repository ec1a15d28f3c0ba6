// kcp-go's block ciphers in CFB mode through OpenSSL 3. Blowfish and CAST5 live in OpenSSL's
// legacy provider: the ciphers are fetched from a library context of this module's own that
// loads the default and legacy providers, so the process's default context is left alone.

#include "cfb_crypt.hpp"

#include <openssl/evp.h>
#include <openssl/provider.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace smux::kcp::detail {

namespace {

/// kcp-go's initialVector; 8-byte ciphers use its first 8 bytes.
constexpr std::array<unsigned char, 16> initial_vector{
    0xa7, 0x73, 0x4f, 0x9c, 0x12, 0xac, 0x1b, 0x01, 0xa4, 0x15, 0xf2, 0xc1, 0xfc, 0x78, 0xe6, 0x6b};

OSSL_LIB_CTX* cipher_library() {
    static OSSL_LIB_CTX* const ctx = [] {
        OSSL_LIB_CTX* c = OSSL_LIB_CTX_new();
        if (c == nullptr || OSSL_PROVIDER_load(c, "default") == nullptr) {
            throw std::runtime_error("smux::kcp: OpenSSL's default provider did not load");
        }
        (void)OSSL_PROVIDER_load(c, "legacy");  // missing: Blowfish and CAST5 fail to fetch
        return c;
    }();
    return ctx;
}

struct cipher_free {
    void operator()(EVP_CIPHER* c) const noexcept { EVP_CIPHER_free(c); }
};
struct context_free {
    void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using context_ptr = std::unique_ptr<EVP_CIPHER_CTX, context_free>;

[[noreturn]] void fail(char const* what) {
    throw std::runtime_error(std::string("smux::kcp: ") + what + " failed");
}

/// An encrypting context for `family` + `mode` ("-CFB", "-ECB") with the key set, no padding.
context_ptr make_context(cfb_cipher const& c, char const* mode, crypt_key const& key) {
    std::string const name = std::string(c.openssl_family) + mode;
    std::unique_ptr<EVP_CIPHER, cipher_free> cipher(
        EVP_CIPHER_fetch(cipher_library(), name.c_str(), nullptr));
    context_ptr ctx(EVP_CIPHER_CTX_new());
    auto const* k = reinterpret_cast<unsigned char const*>(key.data());
    bool ok = cipher != nullptr && ctx != nullptr &&
              EVP_EncryptInit_ex2(ctx.get(), cipher.get(), nullptr, nullptr, nullptr) == 1 &&
              EVP_CIPHER_CTX_set_key_length(ctx.get(), static_cast<int>(c.key_bytes)) == 1 &&
              EVP_EncryptInit_ex2(ctx.get(), nullptr, k, initial_vector.data(), nullptr) == 1 &&
              EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1;
    if (!ok) {
        throw unsupported_cipher("smux::kcp: OpenSSL cannot provide " + name +
                                 " (supported here: " + block_crypt::supported_names() + ")");
    }
    return ctx;
}

/// data[i] ^= key[i] for i < data.size(), eight bytes at a time where it can.
void xor_in_place(unsigned char* data, unsigned char const* key, std::size_t n) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t d = 0;
        std::uint64_t k = 0;
        std::memcpy(&d, data + i, 8);
        std::memcpy(&k, key + i, 8);
        d ^= k;
        std::memcpy(data + i, &d, 8);
    }
    for (; i < n; ++i) {
        data[i] ^= key[i];
    }
}

class cfb_crypt final : public block_crypt {
  public:
    cfb_crypt(cfb_cipher const& c, crypt_key const& key)
        : encryptor_(make_context(c, "-CFB", key)),
          block_cipher_(make_context(c, "-ECB", key)),
          lane_cipher_(make_context(c, "-ECB", key)),
          block_(static_cast<std::size_t>(EVP_CIPHER_CTX_get_block_size(block_cipher_.get()))) {
        if (block_ == 0 || block_ > initial_vector.size()) {
            fail("the cipher's block size");
        }
        // The first keystream block is E(IV) for every datagram: computed once per key.
        keystream_.resize(block_);
        electronic_codebook(initial_vector.data(), keystream_.data(), block_);
        first_keystream_.assign(keystream_.begin(), keystream_.end());
    }

    // Each ciphertext block feeds the next block's encryption: the chain is serial, and
    // OpenSSL's CFB loop calls the block function directly, restarted at the constant IV.
    void encrypt(std::span<std::byte> datagram) override {
        auto* p = reinterpret_cast<unsigned char*>(datagram.data());
        int out = 0;
        if (datagram.size() > static_cast<std::size_t>(INT_MAX) ||
            EVP_EncryptInit_ex2(encryptor_.get(), nullptr, nullptr, initial_vector.data(),
                                nullptr) != 1 ||
            EVP_EncryptUpdate(encryptor_.get(), p, &out, p, static_cast<int>(datagram.size())) !=
                1) {
            fail("CFB encryption");
        }
    }

    // Keystream block i is E(C[i-1]) (E(IV) for i = 0) and every C is already at hand, so all
    // of them come from one ECB pass, which OpenSSL runs several blocks at a time; the last
    // partial block takes the head of its keystream block, as in kcp-go.
    void decrypt(std::span<std::byte> datagram) override {
        std::size_t const n = datagram.size();
        if (n == 0) {
            return;
        }
        auto* p = reinterpret_cast<unsigned char*>(datagram.data());
        std::size_t const chained = (n - 1) / block_ * block_;  // whole blocks C[0..m-2]
        if (keystream_.size() < block_ + chained) {
            keystream_.resize(block_ + chained);
        }
        std::memcpy(keystream_.data(), first_keystream_.data(), block_);
        electronic_codebook(p, keystream_.data() + block_, chained);
        xor_in_place(p, keystream_.data(), n);
    }

    [[nodiscard]] std::size_t lanes() const noexcept override { return max_lanes; }

    // Block i of every datagram at once: the previous ciphertext blocks of all datagrams
    // still that long go through one ECB call, whose blocks OpenSSL interleaves, where
    // encrypt would wait for each block's result before starting the next.
    void encrypt_many(std::span<std::span<std::byte> const> datagrams) override {
        if (datagrams.size() == 1) {
            encrypt(datagrams[0]);
            return;
        }
        while (datagrams.size() > max_lanes) {
            encrypt_many(datagrams.first(max_lanes));
            datagrams = datagrams.subspan(max_lanes);
        }
        for (std::span<std::byte> d : datagrams) {
            xor_in_place(reinterpret_cast<unsigned char*>(d.data()), first_keystream_.data(),
                         std::min(d.size(), block_));
        }
        for (std::size_t at = block_;; at += block_) {
            std::size_t active = 0;
            for (std::size_t i = 0; i < datagrams.size(); ++i) {
                if (datagrams[i].size() > at) {
                    std::memcpy(lane_feedback_.data() + active * block_,
                                datagrams[i].data() + (at - block_), block_);
                    lane_of_[active++] = i;
                }
            }
            if (active == 0) {
                return;
            }
            electronic_codebook(lane_cipher_.get(), lane_feedback_.data(), lane_keystream_.data(),
                                active * block_);
            for (std::size_t k = 0; k < active; ++k) {
                std::span<std::byte> const d = datagrams[lane_of_[k]];
                xor_in_place(reinterpret_cast<unsigned char*>(d.data()) + at,
                             lane_keystream_.data() + k * block_, std::min(d.size() - at, block_));
            }
        }
    }

  private:
    /// Datagrams encrypt_many interleaves: enough to keep AES-NI's pipeline busy (OpenSSL's
    /// ECB runs 8 blocks at a time) and to spread each call's fixed cost.
    static constexpr std::size_t max_lanes = 16;

    /// out = E(in) block by block with `ctx` (an ECB context); `n` is a multiple of the block
    /// size.
    static void electronic_codebook(EVP_CIPHER_CTX* ctx, unsigned char const* in,
                                    unsigned char* out, std::size_t n) {
        if (n == 0) {
            return;
        }
        int written = 0;
        if (n > static_cast<std::size_t>(INT_MAX) ||
            EVP_EncryptUpdate(ctx, out, &written, in, static_cast<int>(n)) != 1 ||
            static_cast<std::size_t>(written) != n) {
            fail("ECB encryption");
        }
    }
    void electronic_codebook(unsigned char const* in, unsigned char* out, std::size_t n) {
        electronic_codebook(block_cipher_.get(), in, out, n);
    }

    context_ptr encryptor_;
    context_ptr block_cipher_;  // decryption's
    context_ptr lane_cipher_;   // encrypt_many's: encryption and decryption share no state
    std::size_t block_;
    std::vector<unsigned char> first_keystream_;
    std::vector<unsigned char> keystream_;  // grows to the largest datagram decrypted
    std::array<unsigned char, max_lanes * 16> lane_feedback_{};
    std::array<unsigned char, max_lanes * 16> lane_keystream_{};
    std::array<std::size_t, max_lanes> lane_of_{};
};

}  // namespace

std::unique_ptr<block_crypt> make_cfb_crypt(cfb_cipher const& c, crypt_key const& key) {
    return std::make_unique<cfb_crypt>(c, key);
}

}  // namespace smux::kcp::detail
