// Datagram nonces and conversation ids from libsodium (OS RNG once, then ChaCha20).

#include "smux/kcp/nonce.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

#include "little_endian.hpp"

namespace smux::kcp {

namespace {

void init_sodium() {
    if (sodium_init() < 0) {
        throw std::runtime_error("smux::kcp: libsodium did not initialise");
    }
}

}  // namespace

nonce_source::nonce_source() {
    init_sodium();
    randombytes_buf(key_.data(), key_.size());
}

// The block counter of the stream is the 8-byte nonce of each refill: never reused per key.
void nonce_source::refill() noexcept {
    std::array<unsigned char, crypto_stream_chacha20_NONCEBYTES> n{};
    detail::put_le(reinterpret_cast<std::byte*>(n.data()), counter_++);
    crypto_stream_chacha20(reinterpret_cast<unsigned char*>(pool_.data()), pool_.size(), n.data(),
                           key_.data());
    used_ = 0;
}

void nonce_source::fill(std::span<std::byte> out) noexcept {
    while (!out.empty()) {
        if (used_ == pool_.size()) {
            refill();
        }
        std::size_t const n = std::min(out.size(), pool_.size() - used_);
        std::copy_n(pool_.data() + used_, n, out.data());
        used_ += n;
        out = out.subspan(n);
    }
}

std::uint32_t random_conv() {
    init_sodium();
    std::array<std::byte, 4> b{};
    randombytes_buf(b.data(), b.size());
    return detail::get_le<std::uint32_t>(b.data());
}

}  // namespace smux::kcp
