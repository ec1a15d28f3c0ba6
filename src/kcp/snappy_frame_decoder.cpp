#include "smux/kcp/snappy_frame_decoder.hpp"

#include <snappy.h>

#include <algorithm>
#include <cstring>

#include "little_endian.hpp"

namespace smux::kcp {

namespace {

/// One whole chunk, the longest golang/snappy's Reader accepts, fits.
constexpr std::size_t input_capacity = snappy_chunk_header_size + snappy_max_chunk_body;

constexpr std::uint8_t compressed_type = 0x00;
constexpr std::uint8_t raw_type = 0x01;
constexpr std::uint8_t last_unskippable_type = 0x7f;
constexpr std::uint8_t identifier_type = 0xff;
constexpr char identifier_body[] = "sNaPpY";
constexpr std::size_t identifier_body_size = sizeof(identifier_body) - 1;

[[nodiscard]] bool is_skippable(std::uint8_t type) noexcept {
    return type > last_unskippable_type && type != identifier_type;  // 0x80..0xfe, padding too
}

}  // namespace

std::span<std::byte> snappy_frame_decoder::prepare() {
    if (error_) {
        return {};
    }
    if (in_.empty()) {
        in_.resize(input_capacity);
    }
    // Raw chunk data is read in place: move the unparsed rest only once it was read.
    if (pending_.empty() && begin_ > 0) {
        std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    return std::span<std::byte>(in_).subspan(end_);
}

std::size_t snappy_frame_decoder::feed(std::span<std::byte const> in) {
    auto const space = prepare();
    std::size_t const n = std::min(space.size(), in.size());
    if (n > 0) {
        std::memcpy(space.data(), in.data(), n);
    }
    commit(n);
    return n;
}

std::span<std::byte const> snappy_frame_decoder::data(std::error_code& ec) {
    while (pending_.empty() && !error_ && step()) {
    }
    ec = error_;
    return error_ ? std::span<std::byte const>{} : pending_;
}

std::size_t snappy_frame_decoder::read(std::span<std::byte> out, std::error_code& ec) {
    auto const ready = data(ec);
    std::size_t const n = std::min(ready.size(), out.size());
    if (n > 0) {
        std::memcpy(out.data(), ready.data(), n);
    }
    consume(n);
    return n;
}

void snappy_frame_decoder::skip_buffered() noexcept {
    std::size_t const n = std::min(skip_, end_ - begin_);
    begin_ += n;
    skip_ -= n;
}

// Parses the next chunk if it is buffered whole; false when more input is needed or it failed.
bool snappy_frame_decoder::step() {
    skip_buffered();
    std::size_t const available = end_ - begin_;
    if (skip_ > 0 || available < snappy_chunk_header_size) {
        return false;
    }
    std::byte const* const header = in_.data() + begin_;
    auto const type = std::to_integer<std::uint8_t>(header[0]);
    std::size_t const length = detail::get_le<std::uint32_t>(header) >> 8;
    // Judged on the header alone, as golang/snappy does, before the body arrives.
    if ((error_ = check_header(type, length))) {
        return false;
    }
    if (is_skippable(type)) {
        begin_ += snappy_chunk_header_size;
        skip_ = length;  // dropped as it arrives, never stored
        return true;
    }
    if (available < snappy_chunk_header_size + length) {
        return false;
    }
    std::span<std::byte const> const body(header + snappy_chunk_header_size, length);
    begin_ += snappy_chunk_header_size + length;
    error_ = take_chunk(type, body);
    return !error_;
}

std::error_code snappy_frame_decoder::check_header(std::uint8_t type, std::size_t length) {
    if (!identified_ && type != identifier_type) {
        return snappy_error::missing_identifier;
    }
    if (length > snappy_max_chunk_body) {
        return snappy_error::chunk_too_long;
    }
    if (type == identifier_type && length != identifier_body_size) {
        return snappy_error::bad_identifier;
    }
    if (type == compressed_type || type == raw_type) {
        if (length < snappy_checksum_size) {
            return snappy_error::chunk_too_short;
        }
        if (type == raw_type && length - snappy_checksum_size > snappy_max_block) {
            return snappy_error::block_too_large;
        }
    } else if (type <= last_unskippable_type) {
        return snappy_error::unskippable_chunk;
    }
    return {};
}

std::error_code snappy_frame_decoder::take_chunk(std::uint8_t type,
                                                 std::span<std::byte const> body) {
    if (type == identifier_type) {
        if (std::memcmp(body.data(), identifier_body, identifier_body_size) != 0) {
            return snappy_error::bad_identifier;
        }
        identified_ = true;  // later identifiers are allowed and change nothing
        return {};
    }
    auto const checksum = detail::get_le<std::uint32_t>(body.data());
    body = body.subspan(snappy_checksum_size);
    std::span<std::byte const> decoded = body;
    if (type == compressed_type) {
        auto const r = uncompress(body);
        if (!r) {
            return r.error;
        }
        decoded = r.decoded;
    }
    if (snappy_masked_crc(decoded) != checksum) {
        return snappy_error::checksum_mismatch;
    }
    pending_ = decoded;
    return {};
}

snappy_frame_decoder::uncompressed snappy_frame_decoder::uncompress(
    std::span<std::byte const> block) {
    auto const* const in = reinterpret_cast<char const*>(block.data());
    std::size_t n = 0;
    if (!snappy::GetUncompressedLength(in, block.size(), &n)) {
        return {{}, snappy_error::corrupt_block};
    }
    if (n > snappy_max_block) {
        return {{}, snappy_error::block_too_large};
    }
    out_.resize(snappy_max_block);
    if (!snappy::RawUncompress(in, block.size(), reinterpret_cast<char*>(out_.data()))) {
        return {{}, snappy_error::corrupt_block};
    }
    return {std::span<std::byte const>(out_).first(n), {}};
}

}  // namespace smux::kcp
