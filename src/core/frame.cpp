#include "smux/core/frame.hpp"

namespace smux::core {

namespace {

void put_u16(std::byte* p, std::uint16_t v) noexcept {
    p[0] = static_cast<std::byte>(v & 0xFFU);
    p[1] = static_cast<std::byte>(v >> 8U);
}

void put_u32(std::byte* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) {
        p[i] = static_cast<std::byte>((v >> (8U * static_cast<unsigned>(i))) & 0xFFU);
    }
}

std::uint16_t get_u16(std::byte const* p) noexcept {
    return static_cast<std::uint16_t>(std::to_integer<unsigned>(p[0]) |
                                      (std::to_integer<unsigned>(p[1]) << 8U));
}

std::uint32_t get_u32(std::byte const* p) noexcept {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) {
        v = (v << 8U) | std::to_integer<std::uint32_t>(p[i]);
    }
    return v;
}

}  // namespace

void encode_header(frame_header const& h, std::span<std::byte, header_size> out) noexcept {
    out[0] = static_cast<std::byte>(h.version);
    out[1] = static_cast<std::byte>(h.cmd);
    put_u16(&out[2], h.length);
    put_u32(&out[4], h.sid);
}

header_bytes encode_header(frame_header const& h) noexcept {
    header_bytes out{};
    encode_header(h, out);
    return out;
}

frame_header decode_header(std::span<std::byte const, header_size> in) noexcept {
    return frame_header{
        .version = std::to_integer<std::uint8_t>(in[0]),
        .cmd = static_cast<command>(std::to_integer<std::uint8_t>(in[1])),
        .length = get_u16(&in[2]),
        .sid = get_u32(&in[4]),
    };
}

void encode_update(window_update const& u, std::span<std::byte, update_payload_size> out) noexcept {
    put_u32(&out[0], u.consumed);
    put_u32(&out[4], u.window);
}

window_update decode_update(std::span<std::byte const, update_payload_size> in) noexcept {
    return window_update{.consumed = get_u32(&in[0]), .window = get_u32(&in[4])};
}

error_code validate_header(frame_header const& h, int session_version) noexcept {
    if (h.version != session_version) {
        return make_error_code(error::invalid_version);
    }
    switch (h.cmd) {
        case command::syn:
        case command::fin:
        case command::nop:
            return h.length == 0 ? error_code{} : make_error_code(error::invalid_frame_length);
        case command::psh:
            return {};
        case command::upd:
            if (session_version < 2) {
                return make_error_code(error::unexpected_update);
            }
            return h.length == update_payload_size ? error_code{}
                                                   : make_error_code(error::invalid_frame_length);
    }
    return make_error_code(error::unknown_command);
}

}  // namespace smux::core
