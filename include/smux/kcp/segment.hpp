#ifndef SMUX_KCP_SEGMENT_HPP
#define SMUX_KCP_SEGMENT_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "smux/kcp/export.hpp"

/** The KCP layer of kcp-go 5.6.1 (KCP.md §4), sans I/O: segments as bytes, nothing else.
    No Asio, no clock, no socket in this namespace. */
namespace smux::kcp {

/// A segment's command (KCP.md §4). Any other value aborts the parse of a datagram.
enum class command : std::uint8_t {
    push = 81,         ///< data
    ack = 82,          ///< acknowledges one PUSH (sn, ts echoed)
    window_ask = 83,   ///< asks the peer for its window (WASK)
    window_tell = 84,  ///< tells this side's window (WINS)
};

/// Bytes of a segment header (kcp-go's IKCP_OVERHEAD).
inline constexpr std::size_t segment_header_size = 24;

/// A segment header; `len` payload bytes follow it. All fields are little-endian on the wire.
struct segment_header {
    std::uint32_t conv = 0;  ///< conversation id
    /// what the segment does
    command cmd = command::push;
    std::uint8_t frg = 0;   ///< fragments still to come; 0 in stream mode
    std::uint16_t wnd = 0;  ///< the sender's free receive slots
    std::uint32_t ts = 0;   ///< PUSH: sender's clock (ms); ACK: the acked PUSH's ts
    std::uint32_t sn = 0;   ///< PUSH: sequence number; ACK: the acked sn
    std::uint32_t una = 0;  ///< every sn below it was received by the sender
    std::uint32_t len = 0;  ///< payload bytes

    friend bool operator==(segment_header const&, segment_header const&) = default;
};

/// Writes `h` in kcp-go's layout.
SMUX_KCP_EXPORT void encode_segment_header(segment_header const& h,
                                           std::span<std::byte, segment_header_size> out) noexcept;

/// One segment of a datagram: its header and a view of its payload.
struct segment_view {
    /// the decoded header
    segment_header header;
    /// the `header.len` bytes after it (a view into the datagram)
    std::span<std::byte const> payload;
};

/** Reads the segments of one datagram's KCP bytes in order, as kcp-go's `Input` does: the
    parse ends when fewer than 24 bytes remain, and it is abandoned at a segment whose command
    is not 81..84 or whose `len` runs past the end (`malformed()` then tells so; the segments
    before it stand). */
class SMUX_KCP_EXPORT segment_reader {
  public:
    /// Reads the segments of `bytes` (a view: it must outlive the reader).
    explicit segment_reader(std::span<std::byte const> bytes) noexcept : rest_(bytes) {}

    /// The next segment, or empty at the end of the datagram or at a malformed segment.
    [[nodiscard]] std::optional<segment_view> next() noexcept;

    /// True when the parse stopped at a malformed segment (not at the end).
    [[nodiscard]] bool malformed() const noexcept { return malformed_; }

  private:
    std::span<std::byte const> rest_;
    bool malformed_ = false;
};

}  // namespace smux::kcp

#endif
