#include "smux/kcp/snappy_frame.hpp"

#include <isa-l/crc.h>
#include <snappy.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <string>

#include "little_endian.hpp"

namespace smux::kcp {

namespace {

class snappy_error_category final : public std::error_category {
  public:
    [[nodiscard]] char const* name() const noexcept override { return "smux.kcp.snappy"; }

    [[nodiscard]] std::string message(int value) const override {
        switch (static_cast<snappy_error>(value)) {
            case snappy_error::missing_identifier:
                return "snappy framing: the stream does not start with the stream identifier";
            case snappy_error::bad_identifier:
                return "snappy framing: malformed stream identifier chunk";
            case snappy_error::chunk_too_long:
                return "snappy framing: chunk longer than 76494 bytes";
            case snappy_error::unskippable_chunk:
                return "snappy framing: reserved unskippable chunk type (0x02-0x7f)";
            case snappy_error::chunk_too_short:
                return "snappy framing: data chunk shorter than its checksum";
            case snappy_error::block_too_large:
                return "snappy framing: chunk decodes to more than 65536 bytes";
            case snappy_error::corrupt_block:
                return "snappy framing: corrupt compressed block";
            case snappy_error::checksum_mismatch:
                return "snappy framing: CRC-32C checksum mismatch";
            case snappy_error::truncated_stream:
                return "snappy framing: stream ended inside a chunk";
        }
        return "unknown snappy framing error " + std::to_string(value);
    }
};

constexpr std::array<std::uint8_t, snappy_identifier_size> identifier{0xff, 0x06, 0x00, 0x00, 's',
                                                                      'N',  'a',  'P',  'p',  'Y'};

constexpr std::uint8_t compressed_type = 0x00;
constexpr std::uint8_t raw_type = 0x01;

/// ISA-L's crc32_iscsi is the bare reflected CRC-32C register update: the standard CRC-32C
/// (Go's crc32.Castagnoli) starts from ~0 and inverts the result ("123456789" → e3069283).
std::uint32_t crc32c(std::span<std::byte const> data) noexcept {
    std::uint32_t state = 0xffffffffU;
    while (!data.empty()) {
        std::size_t const n = std::min<std::size_t>(data.size(), INT_MAX);
        // crc32_iscsi only reads the buffer; its parameter lacks const.
        auto* p = const_cast<unsigned char*>(reinterpret_cast<unsigned char const*>(data.data()));
        state = crc32_iscsi(p, static_cast<int>(n), state);
        data = data.subspan(n);
    }
    return ~state;
}

/// A chunk's length field: 24 bits, little-endian.
void put_le24(std::byte* at, std::size_t v) noexcept {
    for (std::size_t i = 0; i < 3; ++i) {
        at[i] = static_cast<std::byte>(v >> (8 * i));
    }
}

}  // namespace

std::error_category const& snappy_category() noexcept {
    static snappy_error_category const category;
    return category;
}

std::uint32_t snappy_masked_crc(std::span<std::byte const> data) noexcept {
    std::uint32_t const c = crc32c(data);
    return ((c >> 15) | (c << 17)) + 0xa282ead8U;
}

std::span<std::byte const> snappy_frame_encoder::encode_chunk(std::span<std::byte const> data) {
    if (data.empty()) {
        return {};  // golang/snappy writes nothing for an empty write, not even the identifier
    }
    data = data.first(std::min(data.size(), snappy_max_block));
    out_.resize(snappy_max_encoded_chunk);
    std::size_t start = snappy_identifier_size;  // the identifier sits in front of every chunk
    if (!started_) {
        std::memcpy(out_.data(), identifier.data(), identifier.size());
        start = 0;
        started_ = true;
    }
    std::byte* const header = out_.data() + snappy_identifier_size;
    std::byte* const body = header + snappy_chunk_header_size + snappy_checksum_size;
    std::size_t length = 0;
    snappy::RawCompress(reinterpret_cast<char const*>(data.data()), data.size(),
                        reinterpret_cast<char*>(body), &length);
    std::uint8_t type = compressed_type;
    // golang/snappy keeps the block only if it saves at least 12.5 %.
    if (length >= data.size() - data.size() / 8) {
        type = raw_type;
        length = data.size();
        std::memcpy(body, data.data(), length);
    }
    header[0] = std::byte{type};
    put_le24(header + 1, snappy_checksum_size + length);
    detail::put_le<std::uint32_t>(header + 4, snappy_masked_crc(data));
    std::size_t const end =
        snappy_identifier_size + snappy_chunk_header_size + snappy_checksum_size + length;
    return std::span<std::byte const>(out_).subspan(start, end - start);
}

void snappy_frame_encoder::encode(std::span<std::byte const> data, std::vector<std::byte>& out) {
    while (!data.empty()) {
        std::size_t const n = std::min(data.size(), snappy_max_block);
        auto const wire = encode_chunk(data.first(n));
        out.insert(out.end(), wire.begin(), wire.end());
        data = data.subspan(n);
    }
}

}  // namespace smux::kcp
