// klauspost/reedsolomon parity for fixed inputs, printed by go/rs_vectors.go (rerun command in
// its header comment; paste its output below). Data shard i, byte k of code (d, p, length) is
// the next byte of rs_lcg seeded with d·65536 + p·256 + length.

#ifndef SMUX_TESTS_KCP_FEC_RS_GO_VECTORS_HPP
#define SMUX_TESTS_KCP_FEC_RS_GO_VECTORS_HPP

#include <cstddef>
#include <cstdint>

namespace rs_go_vectors {

/// The generator rs_vectors.go uses: x = x·1103515245 + 12345 (mod 2^32), byte = x >> 16.
struct rs_lcg {
    std::uint32_t x;
    std::byte next() noexcept {
        x = x * 1103515245U + 12345U;
        return static_cast<std::byte>(x >> 16);
    }
};

struct small_code {
    std::size_t data, parity, length;
    char const* parity_hex;  ///< the parity shards one after the other
};

struct large_code {
    std::size_t data, parity, length;
    std::uint32_t parity_crc32;  ///< CRC-32/IEEE of the parity shards one after the other
};

inline constexpr small_code small_codes[] = {
    {1, 1, 5, "9b0cea1556"},
    {2, 1, 29, "16714f3a2d9d0246a6907efd714130f064874ab954db81ed982b0f093f"},
    {4, 2, 33,
     "ba1ea128339070474607176a31185ca7eab768ff79f362ef137d37e2c979789bf9d95416b16e9397344151259678f"
     "d484ed8a6201aab14c4755b2e0b82531f2e99c2"},
    {10, 3, 40,
     "bba0d8c9282150914005f3f232aaccaa94ccc709ff82a8c8f0a112970c50eb121ba87ddf534c65e542b1f62a35d40"
     "c4b94ab04b9ecff55da74d63221b071064e794805fa6cceb2e27e7ecbf2b6024a76799d736214ebb214bd0fc3fbc8"
     "5e655c4907d08ca8dc02e3ec46454ccc5963545d6c0f54cb180efd"},
    {3, 7, 17,
     "12f0b72404fa016bf2909560b447c4aa492d459a1e67569657c7114199f23296c99a6b701af2b5d9c8aa1f5d327ab"
     "adc8cdb6aee9c0856a03045976b2097ed30651f53d5a8a988ba72bf1b6ab36ce40e788b0541257a51c3994e87061e"
     "144af509f2eed7c6c13c6443759c0858e3cc0686eaba00cdd431"},
    {17, 5, 64,
     "d9b67a72d8b680317ab6816d540a6b98089da80330903095fcd66022b9fa96aed90bce1ee191fef67a4d2e67f2480"
     "6571109ab96b89dc8464004e799e87da3398100da56a6533adb9883e548205830ede0b088b3395c1feccde989009c"
     "9bff4ef4ab5666a1ddc78f08171c1d23d635158417c551f58b7aef9296ef520a825de82a6dc301217e6ae4802101a"
     "705ba2ab97c1bf5f77b16e292d3a6d4603b6e9c7cd365a65b4944de7096b9b1d79630575c49a1f0001698e88ab1bd"
     "a708e04d4dee9fddc12f2d7ff419695d00b101e52a92118572d04f31fd531ee5359987f50813401de1362714e0c53"
     "ca9ad10ef245f8f8d8a4ed951506dfe16a11e3b84e858613a9ece34d8e0261a986f376c83e2869077063e0bc2ebad"
     "fd1ea0cacd2020e0e8f9fd36fbe6404a90bbb9bb820e932acfa05d46fd8f488917b68496465c161f83"},
};

inline constexpr large_code large_codes[] = {
    {128, 128, 100, 0xf3289f5c}, {200, 56, 61, 0xe3a647d3},  {255, 1, 1400, 0x39af06cc},
    {1, 255, 3, 0x0a9de2e5},     {30, 30, 1300, 0x9dafe10f},
};

}  // namespace rs_go_vectors

#endif
