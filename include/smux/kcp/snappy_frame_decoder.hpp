#ifndef SMUX_KCP_SNAPPY_FRAME_DECODER_HPP
#define SMUX_KCP_SNAPPY_FRAME_DECODER_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

#include "smux/kcp/export.hpp"
#include "smux/kcp/snappy_frame.hpp"

namespace smux::kcp {

/** One direction's reader of golang/snappy's framing format (its Reader.Read), incremental:
    framed bytes go in split anyhow, uncompressed bytes come out once their chunk is complete
    and its checksum verified. Memory is bounded: one chunk's wire bytes (at most
    4 + snappy_max_chunk_body) and one decoded block (65536); skippable chunks are skipped
    without being stored. The first error is sticky. Not thread-safe.

    Two ways to feed it: `feed` copies, or `prepare` + `commit` let a socket read straight
    into the decoder's buffer. */
class SMUX_KCP_EXPORT snappy_frame_decoder {
  public:
    /// Where the next framed bytes may be written; empty while decoded data must be read first.
    [[nodiscard]] std::span<std::byte> prepare();
    /// Adds `n` bytes written at the front of `prepare()`'s span.
    void commit(std::size_t n) noexcept { end_ += n; }
    /// Copies as much of `in` as fits now; returns how many bytes were taken.
    std::size_t feed(std::span<std::byte const> in);

    /** The decoded bytes waiting to be read, decoding buffered chunks as needed; empty when
        more input is needed (or on error, which `ec` then holds, now and on every later call). */
    [[nodiscard]] std::span<std::byte const> data(std::error_code& ec);
    /// Marks the first `n` bytes of `data()` as read.
    void consume(std::size_t n) noexcept { pending_ = pending_.subspan(n); }
    /// `data` then copy into `out` and `consume`; returns the bytes copied.
    std::size_t read(std::span<std::byte> out, std::error_code& ec);

    /// Whether input stopped inside a chunk (the end of the stream then means truncation).
    [[nodiscard]] bool mid_chunk() const noexcept { return end_ > begin_ || skip_ > 0; }

    /// Bytes held for input and decoded data (allocated, used or not).
    [[nodiscard]] std::size_t storage_bytes() const noexcept {
        return in_.capacity() + out_.capacity();
    }

  private:
    struct uncompressed {
        std::span<std::byte const> decoded;
        std::error_code error;
        explicit operator bool() const noexcept { return !error; }
    };

    [[nodiscard]] bool step();
    [[nodiscard]] std::error_code check_header(std::uint8_t type, std::size_t length);
    [[nodiscard]] std::error_code take_chunk(std::uint8_t type, std::span<std::byte const> body);
    [[nodiscard]] uncompressed uncompress(std::span<std::byte const> block);
    void skip_buffered() noexcept;

    std::vector<std::byte> in_;   ///< framed bytes; [begin_, end_) not parsed yet
    std::vector<std::byte> out_;  ///< the decoded block of a compressed chunk
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::size_t skip_ = 0;                ///< bytes of a skippable chunk still to drop
    std::span<std::byte const> pending_;  ///< decoded bytes not read yet (in in_ or out_)
    std::error_code error_;
    bool identified_ = false;
};

}  // namespace smux::kcp

#endif
