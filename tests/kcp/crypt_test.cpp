// kcptun's key derivation and ciphers against KCP.md §6 (a) and (c*): each `--crypt` value
// turns the (c1) plaintext into the datagram kcp-go sends, and back.

#include <gtest/gtest.h>

#include <smux/kcp/crypt.hpp>
#include <string>
#include <utility>
#include <vector>

#include "kcp_vectors.hpp"
#include "support/wire.hpp"

namespace {

using namespace smux_wire;
using kcp_vectors::c1_plaintext;
using smux::kcp::block_crypt;

std::vector<std::pair<std::string, std::string>> const c_star{
    {"aes",
     "86834343335b168ca911bf584a05f9900d214dbc3c943e8e57af1310500d007c873f3e502a96adfe6e204f09"
     "491c954ed4"},
    {"aes-128",
     "ddd7e0a7981ba3e2a7f6d51f2a266318460cca22ee1bcad29f44eb42598d4eb6a24ebeebc932f53498720cf6"
     "055960b230"},
    {"aes-192",
     "b9db59f7dd1bce4922855fb7f8f8e261a7ae5e6b6376208d6d9e0c9dfa6adf57f227202de72bf065cd3960fc"
     "2beb7336b0"},
    {"salsa20",
     "00010203040506079aaa6e7faf75365c4399547c1c6df05223935b0673f4805f6ae920fe8a2a13c168777caa"
     "1e890626de"},
    {"blowfish",
     "186797305116055ece6531b898c4b2352ffa674511de575c1a0aff2c25c11438dcb7575e1173e199fc9805d2"
     "4e6c6dbf50"},
    {"cast5",
     "bb8f8d2209e0131c7d027b3e28d6b4578b84e5fecc4d31ead8dbf0cf73eaeb0e3c91e75bffddb7b39f7523c8"
     "dad8c93d7c"},
    {"3des",
     "5dca5d4fac8f6accf083365ae9eb528a27fba5f9c6ccfa0443565839d41cc58c3494d98336747e5f4381e64b"
     "ad5666e491"},
    {"sm4",
     "0340e44fd923bb2259e375a7ab6ee54dea818205bc3e4da2f6c940936bcb99eb13b3585bb76112a07bda6508"
     "b87264d10a"},
    {"xor",
     "0fff8b84a99173765c7011c3f60cb82378e23173b69642129c523fbe1276a786f0af663f479b134e20a0d0f7"
     "f64a566e80"},
    {"none", c1_plaintext},
};

TEST(kcp_crypt, the_default_key_is_vector_a) {
    auto const key = smux::kcp::derive_key(smux::kcp::default_password);
    EXPECT_EQ(to_hex(key), "25d7d7bd51050742d8d791f2b653c6c8b2366b7e25a124cf7a2e12eaf4ffa444");
}

class kcp_cipher : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(kcp_cipher, encrypts_vector_c1_as_kcp_go_and_decrypts_it_back) {
    auto const& [name, expected] = GetParam();
    auto crypt = block_crypt::make(name, smux::kcp::derive_key(smux::kcp::default_password));
    bytes datagram = from_hex(c1_plaintext);
    crypt->encrypt(datagram);
    EXPECT_EQ(to_hex(datagram), expected);
    // Every datagram starts from the same state: the second one encrypts alike.
    bytes again = from_hex(c1_plaintext);
    crypt->encrypt(again);
    EXPECT_EQ(to_hex(again), expected);
    crypt->decrypt(datagram);
    EXPECT_EQ(to_hex(datagram), c1_plaintext);
}

INSTANTIATE_TEST_SUITE_P(c_star, kcp_cipher, ::testing::ValuesIn(c_star),
                         [](auto const& param_info) {
                             std::string n = param_info.param.first;
                             for (char& ch : n) {
                                 ch = ch == '-' ? '_' : ch;
                             }
                             return "crypt_" + n;
                         });

TEST(kcp_crypt, an_unknown_name_is_aes_as_in_kcptun) {
    auto const key = smux::kcp::derive_key(smux::kcp::default_password);
    auto crypt = block_crypt::make("null", key);
    bytes datagram = from_hex(c1_plaintext);
    crypt->encrypt(datagram);
    EXPECT_EQ(to_hex(datagram), c_star.front().second);
}

TEST(kcp_crypt, ciphers_without_a_maintained_library_are_refused_with_the_list) {
    auto const key = smux::kcp::derive_key(smux::kcp::default_password);
    for (char const* name : {"twofish", "tea", "xtea"}) {
        try {
            (void)block_crypt::make(name, key);
            ADD_FAILURE() << name << " was accepted";
        } catch (smux::kcp::unsupported_cipher const& e) {
            std::string const what = e.what();
            EXPECT_NE(what.find(name), std::string::npos) << what;
            EXPECT_NE(what.find("salsa20"), std::string::npos) << what;
        }
    }
}

}  // namespace
