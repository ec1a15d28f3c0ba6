// One received datagram through kcp-go's receive path, as far as it is stateless: decrypt
// with one of several ciphers, check the CRC, read the FEC header, parse the KCP segments.
// Arbitrary bytes must not crash it; decryption must invert encryption; the CRC a sender
// seals must match; every parsed segment must lie inside the datagram and re-encode to the
// bytes it came from.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <smux/kcp/crypt.hpp>
#include <smux/kcp/packet.hpp>
#include <smux/kcp/segment.hpp>
#include <span>
#include <string_view>
#include <vector>

#include "kcp_fuzz_input.hpp"

namespace {

using smux::fuzz::kcp_check;
namespace kcp = smux::kcp;

constexpr std::array<std::string_view, 10> ciphers = {
    "aes", "aes-128", "aes-192", "salsa20", "blowfish", "cast5", "3des", "sm4", "xor", "none"};

/// One cipher object per name, made once: the key derivation (PBKDF2, 4096 rounds) and the
/// OpenSSL contexts would otherwise dominate every run. kcp-go's ciphers keep no state
/// between datagrams, so sharing them across inputs changes nothing.
kcp::block_crypt& cipher(std::size_t i) {
    static auto const key = kcp::derive_key(kcp::default_password);
    static std::array<std::unique_ptr<kcp::block_crypt>, ciphers.size()> made;
    if (!made[i]) {
        made[i] = kcp::block_crypt::make(ciphers[i], key);
    }
    return *made[i];
}

/// Parses the KCP bytes; each segment must re-encode to its own header bytes.
void check_segments(std::span<std::byte const> kcp_bytes) {
    kcp::segment_reader r(kcp_bytes);
    std::size_t at = 0;
    while (auto seg = r.next()) {
        kcp_check(at + kcp::segment_header_size + seg->header.len <= kcp_bytes.size(),
                  "segment past the end");
        kcp_check(seg->payload.size() == seg->header.len, "payload size is not len");
        kcp_check(seg->payload.data() == kcp_bytes.data() + at + kcp::segment_header_size,
                  "payload not after its header");
        auto const cmd = static_cast<unsigned>(seg->header.cmd);
        kcp_check(cmd >= 81 && cmd <= 84, "segment with an unknown command");
        std::array<std::byte, kcp::segment_header_size> again{};
        kcp::encode_segment_header(seg->header, again);
        kcp_check(std::equal(again.begin(), again.end(), kcp_bytes.begin() + at),
                  "segment header does not re-encode");
        at += kcp::segment_header_size + seg->header.len;
    }
}

/// kcp-go's per-datagram choice after the crypt header: FEC shard or plain KCP bytes.
void check_inner(std::span<std::byte const> inner) {
    auto const fec = kcp::read_fec_header(inner);
    if (!fec) {
        check_segments(inner);
        return;
    }
    kcp_check(fec->flag == kcp::fec_flag_data || fec->flag == kcp::fec_flag_parity,
              "FEC header with another flag");
    if (!fec->is_parity() && fec->size >= 2 &&
        fec->size - 2U <= inner.size() - kcp::fec_data_header_size) {
        check_segments(inner.subspan(kcp::fec_data_header_size, fec->size - 2U));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    smux::fuzz::input_reader in(data, size);
    auto& c = cipher(in.u8() % ciphers.size());
    auto const received = in.bytes(1500);
    std::vector<std::byte> d(received.begin(), received.end());
    c.decrypt(d);
    std::vector<std::byte> again(d);
    c.encrypt(again);
    kcp_check(std::equal(again.begin(), again.end(), received.begin(), received.end()),
              "encrypt(decrypt(x)) != x");
    if (kcp::crc_matches(d)) {
        check_inner(std::span<std::byte const>(d).subspan(kcp::crypt_header_size));
    }
    check_inner(d);  // kcp-go with a nil cipher: FEC or KCP from offset 0
    if (d.size() >= kcp::crypt_header_size) {
        kcp::seal_crc(d);
        kcp_check(kcp::crc_matches(d), "sealed CRC does not match");
    }
    return 0;
}
