// KCP.md §6 test vectors shared by the KCP tests (hex, spaces allowed by from_hex).

#ifndef SMUX_TESTS_KCP_KCP_VECTORS_HPP
#define SMUX_TESTS_KCP_KCP_VECTORS_HPP

namespace kcp_vectors {

/// (b): conv 0x01020304, PUSH, frg 0, wnd 512, ts 0x0a0b0c0d, sn 0, una 0, "hello".
inline constexpr char const* push_b = "04030201510000020d0c0b0a00000000000000000500000068656c6c6f";
/// (c1)/(e): nonce 00..0f, CRC, then (b).
inline constexpr char const* c1_plaintext =
    "000102030405060708090a0b0c0d0e0f132c3075"
    "04030201510000020d0c0b0a00000000000000000500000068656c6c6f";
/// (c2)/(e): the same with the FEC header (seqid 0, data, size 31).
inline constexpr char const* c2_plaintext =
    "000102030405060708090a0b0c0d0e0f0555bec500000000f1001f00"
    "04030201510000020d0c0b0a00000000000000000500000068656c6c6f";

}  // namespace kcp_vectors

#endif
