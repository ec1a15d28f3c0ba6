// The CFB ciphers against a block-by-block CFB written out here from the cipher's single-block
// function, as kcp-go's encrypt and decrypt loops run it: keystream block i is E(previous
// ciphertext block), E(IV) first, and a trailing partial block takes the head of its keystream
// block. Decryption (one ECB pass) and encrypt_many (datagrams side by side) run differently
// inside, so every length from 0 to 100 covers the whole blocks, the partial block and their
// borders; one object then serves datagrams of changing sizes.

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include <algorithm>
#include <array>
#include <memory>
#include <random>
#include <smux/kcp/crypt.hpp>
#include <string>
#include <vector>

#include "support/wire.hpp"

namespace {

using smux::kcp::block_crypt;
using smux_wire::bytes;

struct cfb_case {
    std::string crypt;  // the --crypt name
    std::string ecb;    // OpenSSL's single-block (ECB) form of the same cipher
    int key_bytes;
};

std::vector<cfb_case> const cfb_cases{
    {"aes", "AES-256-ECB", 32}, {"aes-128", "AES-128-ECB", 16}, {"aes-192", "AES-192-ECB", 24},
    {"blowfish", "BF-ECB", 32}, {"cast5", "CAST5-ECB", 16},     {"3des", "DES-EDE3-ECB", 24},
    {"sm4", "SM4-ECB", 16},
};

constexpr std::array<unsigned char, 16> kcp_go_iv{0xa7, 0x73, 0x4f, 0x9c, 0x12, 0xac, 0x1b, 0x01,
                                                  0xa4, 0x15, 0xf2, 0xc1, 0xfc, 0x78, 0xe6, 0x6b};

OSSL_LIB_CTX* library_with_legacy_ciphers() {
    static OSSL_LIB_CTX* const ctx = [] {
        OSSL_LIB_CTX* c = OSSL_LIB_CTX_new();
        OSSL_PROVIDER_load(c, "default");
        OSSL_PROVIDER_load(c, "legacy");
        return c;
    }();
    return ctx;
}

/// One cipher block at a time, the way kcp-go's loops call block.Encrypt.
class single_block {
  public:
    single_block(cfb_case const& c, smux::kcp::crypt_key const& key) : ctx_(EVP_CIPHER_CTX_new()) {
        EVP_CIPHER* cipher =
            EVP_CIPHER_fetch(library_with_legacy_ciphers(), c.ecb.c_str(), nullptr);
        auto const* k = reinterpret_cast<unsigned char const*>(key.data());
        bool const ok = cipher != nullptr &&
                        EVP_EncryptInit_ex2(ctx_.get(), cipher, nullptr, nullptr, nullptr) == 1 &&
                        EVP_CIPHER_CTX_set_key_length(ctx_.get(), c.key_bytes) == 1 &&
                        EVP_EncryptInit_ex2(ctx_.get(), nullptr, k, nullptr, nullptr) == 1 &&
                        EVP_CIPHER_CTX_set_padding(ctx_.get(), 0) == 1;
        EVP_CIPHER_free(cipher);
        if (!ok) {
            throw std::runtime_error("no " + c.ecb);
        }
        size_ = static_cast<std::size_t>(EVP_CIPHER_CTX_get_block_size(ctx_.get()));
    }

    [[nodiscard]] std::size_t size() const { return size_; }

    std::vector<unsigned char> encrypt(std::vector<unsigned char> const& in) {
        std::vector<unsigned char> out(size_);
        int n = 0;
        EVP_EncryptUpdate(ctx_.get(), out.data(), &n, in.data(), static_cast<int>(size_));
        return out;
    }

  private:
    struct context_free {
        void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
    };
    std::unique_ptr<EVP_CIPHER_CTX, context_free> ctx_;
    std::size_t size_ = 0;
};

enum class direction { encrypt, decrypt };

bytes block_by_block_cfb(single_block& e, bytes const& in, direction d) {
    std::size_t const b = e.size();
    std::vector<unsigned char> feedback(kcp_go_iv.begin(),
                                        kcp_go_iv.begin() + static_cast<long>(b));
    bytes out(in.size());
    for (std::size_t at = 0; at < in.size(); at += b) {
        auto const keystream = e.encrypt(feedback);
        std::size_t const take = std::min(b, in.size() - at);
        for (std::size_t i = 0; i < take; ++i) {
            out[at + i] = in[at + i] ^ static_cast<std::byte>(keystream[i]);
            // the ciphertext block feeds the next one
            feedback[i] =
                static_cast<unsigned char>(d == direction::encrypt ? out[at + i] : in[at + i]);
        }
    }
    return out;
}

bytes random_bytes(std::size_t n, std::mt19937& rng) {
    bytes b(n);
    for (auto& x : b) {
        x = static_cast<std::byte>(rng() & 0xff);
    }
    return b;
}

class kcp_cfb : public ::testing::TestWithParam<cfb_case> {};

TEST_P(kcp_cfb, decrypts_every_length_to_100_as_block_by_block_cfb) {
    auto const key = smux::kcp::derive_key(smux::kcp::default_password);
    auto crypt = block_crypt::make(GetParam().crypt, key);
    single_block e(GetParam(), key);
    std::mt19937 rng(1);
    for (std::size_t n = 0; n <= 100; ++n) {
        bytes const ciphertext = random_bytes(n, rng);
        bytes datagram = ciphertext;
        crypt->decrypt(datagram);
        EXPECT_EQ(datagram, block_by_block_cfb(e, ciphertext, direction::decrypt))
            << "length " << n;
    }
}

TEST_P(kcp_cfb, encrypts_every_length_to_100_as_block_by_block_cfb) {
    auto const key = smux::kcp::derive_key(smux::kcp::default_password);
    auto crypt = block_crypt::make(GetParam().crypt, key);
    single_block e(GetParam(), key);
    std::mt19937 rng(2);
    for (std::size_t n = 0; n <= 100; ++n) {
        bytes const plaintext = random_bytes(n, rng);
        bytes datagram = plaintext;
        crypt->encrypt(datagram);
        EXPECT_EQ(datagram, block_by_block_cfb(e, plaintext, direction::encrypt)) << "length " << n;
        crypt->decrypt(datagram);
        EXPECT_EQ(datagram, plaintext) << "length " << n;
    }
}

TEST_P(kcp_cfb, one_object_decrypts_datagrams_of_changing_sizes_alike) {
    auto const key = smux::kcp::derive_key(smux::kcp::default_password);
    auto crypt = block_crypt::make(GetParam().crypt, key);
    single_block e(GetParam(), key);
    std::mt19937 rng(3);
    for (std::size_t n : {1500U, 17U, 1350U, 0U, 9U, 1499U, 64U}) {
        bytes const ciphertext = random_bytes(n, rng);
        bytes datagram = ciphertext;
        crypt->decrypt(datagram);
        EXPECT_EQ(datagram, block_by_block_cfb(e, ciphertext, direction::decrypt))
            << "length " << n;
    }
}

TEST_P(kcp_cfb, encrypts_many_datagrams_side_by_side_as_one_by_one) {
    auto const key = smux::kcp::derive_key(smux::kcp::default_password);
    auto crypt = block_crypt::make(GetParam().crypt, key);
    single_block e(GetParam(), key);
    ASSERT_GT(crypt->lanes(), 1U);
    std::mt19937 rng(4);
    // More datagrams than lanes, of lengths that end their chains at different blocks.
    std::vector<bytes> plaintexts;
    for (std::size_t i = 0; i < 2 * crypt->lanes() + 3; ++i) {
        plaintexts.push_back(random_bytes(i % 5 == 0 ? 1350 : (i * 13) % 101, rng));
    }
    std::vector<bytes> datagrams = plaintexts;
    std::vector<std::span<std::byte>> spans(datagrams.begin(), datagrams.end());
    crypt->encrypt_many(spans);
    for (std::size_t i = 0; i < plaintexts.size(); ++i) {
        EXPECT_EQ(datagrams[i], block_by_block_cfb(e, plaintexts[i], direction::encrypt))
            << "datagram " << i << ", length " << plaintexts[i].size();
    }
}

INSTANTIATE_TEST_SUITE_P(ciphers, kcp_cfb, ::testing::ValuesIn(cfb_cases),
                         [](auto const& param_info) {
                             std::string n = param_info.param.crypt;
                             std::replace(n.begin(), n.end(), '-', '_');
                             return "crypt_" + n;
                         });

}  // namespace
