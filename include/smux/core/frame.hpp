#ifndef SMUX_CORE_FRAME_HPP
#define SMUX_CORE_FRAME_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "smux/core/export.hpp"
#include "smux/error.hpp"

/// The smux frame layout: an 8-byte little-endian header, then LEN payload bytes.
namespace smux::core {

/// A stream's id on the wire (the SID field).
using stream_id = std::uint32_t;

/// The CMD byte of a frame header.
enum class command : std::uint8_t {
    syn = 0,  ///< open a stream
    fin = 1,  ///< the sender writes no more on the stream
    psh = 2,  ///< stream data
    nop = 3,  ///< keep-alive
    upd = 4,  ///< window update (protocol version 2)
};

/// Bytes of a frame header: VER, CMD, LEN (u16 LE), SID (u32 LE).
inline constexpr std::size_t header_size = 8;
/// Bytes of an UPD payload: consumed (u32 LE), window (u32 LE).
inline constexpr std::size_t update_payload_size = 8;

/// A decoded frame header.
struct frame_header {
    /// protocol version: 1 or 2
    std::uint8_t version = 1;
    /// what the frame does
    command cmd = command::nop;
    /// payload bytes that follow the header
    std::uint16_t length = 0;
    /// the stream the frame belongs to (0 for NOP)
    stream_id sid = 0;

    friend bool operator==(frame_header const&, frame_header const&) = default;
};

/// The payload of an UPD frame.
struct window_update {
    std::uint32_t consumed = 0;  ///< bytes of the stream the receiver's application has read
    std::uint32_t window = 0;    ///< the receiver's window (its max_stream_buffer)

    friend bool operator==(window_update const&, window_update const&) = default;
};

/// An encoded frame header.
using header_bytes = std::array<std::byte, header_size>;

/// Writes `h` in the wire layout into `out`.
SMUX_CORE_EXPORT void encode_header(frame_header const& h,
                                    std::span<std::byte, header_size> out) noexcept;
/// `h` in the wire layout.
[[nodiscard]] SMUX_CORE_EXPORT header_bytes encode_header(frame_header const& h) noexcept;

/// Decodes without judging; `validate_header` says whether the frame is allowed.
[[nodiscard]] SMUX_CORE_EXPORT frame_header
decode_header(std::span<std::byte const, header_size> in) noexcept;

/// Writes `u` as an UPD payload into `out`.
SMUX_CORE_EXPORT void encode_update(window_update const& u,
                                    std::span<std::byte, update_payload_size> out) noexcept;
/// Reads an UPD payload.
[[nodiscard]] SMUX_CORE_EXPORT window_update
decode_update(std::span<std::byte const, update_payload_size> in) noexcept;

/** Applies the receive rules of the newest Go release to a decoded header: the version must
    match, the command must exist (UPD only in version 2), SYN/FIN/NOP carry no payload and UPD
    carries exactly 8 bytes. PSH may carry any length up to 65535, whatever this side's own
    max_frame_size (Go accepts it too). Stream ids are judged by the session, not here.

    @return the specific `smux::error`, or an empty code when the header is acceptable.
*/
[[nodiscard]] SMUX_CORE_EXPORT error_code validate_header(frame_header const& h,
                                                          int session_version) noexcept;

}  // namespace smux::core

#endif
