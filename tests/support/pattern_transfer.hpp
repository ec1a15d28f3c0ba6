// Moving a deterministic byte pattern through a stream and checking every byte on the other
// side: the writer and reader coroutines of the transfer tests.

#ifndef SMUX_TESTS_SUPPORT_PATTERN_TRANSFER_HPP
#define SMUX_TESTS_SUPPORT_PATTERN_TRANSFER_HPP

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "support/asio_harness.hpp"

namespace smux_test {

struct received {
    smux::error_code ec;
    std::uint64_t bytes = 0;
    std::uint64_t checksum = fnv_offset;
    std::int64_t first_mismatch = -1;  ///< stream offset of the first wrong byte
};

/// Writes `total` bytes of `pat` in chunks of changing sizes, then half-closes; returns the
/// checksum of what was written.
inline asio::awaitable<std::uint64_t> send_pattern(smux::stream& s, pattern pat,
                                                   std::uint64_t total) {
    static constexpr std::array<std::size_t, 7> sizes{1, 1500, 65535, 65536, 262144, 1048576, 3};
    bytes buf(1048576);
    std::uint64_t pos = 0;
    std::uint64_t sum = fnv_offset;
    std::size_t k = 0;
    while (pos < total) {
        auto const n = static_cast<std::size_t>(
            std::min<std::uint64_t>(sizes[k++ % sizes.size()], total - pos));
        std::span<std::byte> chunk(buf.data(), n);
        pat.fill(pos, chunk);
        sum = fnv1a(sum, chunk);
        co_await asio::async_write(s, asio::buffer(chunk.data(), n), asio::use_awaitable);
        pos += n;
    }
    s.shutdown_send();
    co_return sum;
}

/// Reads to the end, comparing every byte with `pat`.
inline asio::awaitable<received> receive_pattern(smux::stream& s, pattern pat,
                                                 std::size_t buffer_size = 131072) {
    received r;
    bytes buf(buffer_size);
    bytes expect(buffer_size);
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), as_tuple_awaitable);
        if (n > 0) {
            std::span<std::byte> want(expect.data(), n);
            pat.fill(r.bytes, want);
            if (r.first_mismatch < 0 && std::memcmp(buf.data(), want.data(), n) != 0) {
                std::size_t i = 0;
                while (buf[i] == want[i]) {
                    ++i;
                }
                r.first_mismatch = static_cast<std::int64_t>(r.bytes + i);
            }
            r.checksum = fnv1a(r.checksum, std::span<std::byte const>(buf.data(), n));
            r.bytes += n;
        }
        if (ec) {
            r.ec = ec;
            co_return r;
        }
    }
}

inline void expect_received(received const& r, std::uint64_t total, std::uint64_t sent_checksum) {
    EXPECT_EQ(r.ec, asio::error::eof) << r.ec.message();
    EXPECT_EQ(r.bytes, total);
    EXPECT_EQ(r.first_mismatch, -1);
    EXPECT_EQ(r.checksum, sent_checksum);
}

}  // namespace smux_test

#endif
