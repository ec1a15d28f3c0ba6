// KCP segment headers in kcp-go's byte order (KCP.md §4): conv, cmd, frg, wnd, ts, sn, una, len.

#include "smux/kcp/segment.hpp"

#include "little_endian.hpp"

namespace smux::kcp {

namespace {

using detail::get_le;
using detail::put_le;

bool is_command(std::uint8_t c) noexcept {
    return c >= static_cast<std::uint8_t>(command::push) &&
           c <= static_cast<std::uint8_t>(command::window_tell);
}

}  // namespace

void encode_segment_header(segment_header const& h,
                           std::span<std::byte, segment_header_size> out) noexcept {
    std::byte* p = out.data();
    put_le(p + 0, h.conv);
    put_le(p + 4, static_cast<std::uint8_t>(h.cmd));
    put_le(p + 5, h.frg);
    put_le(p + 6, h.wnd);
    put_le(p + 8, h.ts);
    put_le(p + 12, h.sn);
    put_le(p + 16, h.una);
    put_le(p + 20, h.len);
}

std::optional<segment_view> segment_reader::next() noexcept {
    if (malformed_ || rest_.size() < segment_header_size) {
        return std::nullopt;
    }
    std::byte const* p = rest_.data();
    auto const cmd = get_le<std::uint8_t>(p + 4);
    auto const len = get_le<std::uint32_t>(p + 20);
    if (!is_command(cmd) || len > rest_.size() - segment_header_size) {
        malformed_ = true;
        return std::nullopt;
    }
    segment_view v{
        .header = {.conv = get_le<std::uint32_t>(p + 0),
                   .cmd = static_cast<command>(cmd),
                   .frg = get_le<std::uint8_t>(p + 5),
                   .wnd = get_le<std::uint16_t>(p + 6),
                   .ts = get_le<std::uint32_t>(p + 8),
                   .sn = get_le<std::uint32_t>(p + 12),
                   .una = get_le<std::uint32_t>(p + 16),
                   .len = len},
        .payload = rest_.subspan(segment_header_size, len),
    };
    rest_ = rest_.subspan(segment_header_size + len);
    return v;
}

}  // namespace smux::kcp
