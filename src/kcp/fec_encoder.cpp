// kcp-go's fecEncoder (KCP.md §3): seqids per datagram, the size field, zero padding to the
// longest datagram of the group, parity after the d-th data shard.

#include "smux/kcp/fec_encoder.hpp"

#include <algorithm>
#include <stdexcept>

#include "little_endian.hpp"
#include "smux/kcp/packet.hpp"

namespace smux::kcp {

namespace {

std::uint32_t wrap_point(std::size_t group) noexcept {
    auto const n = static_cast<std::uint32_t>(group);
    return 0xFFFFFFFFU / n * n;
}

void write_header(std::byte* at, std::uint32_t seqid, std::uint16_t flag) noexcept {
    detail::put_le(at, seqid);
    detail::put_le(at + 4, flag);
}

}  // namespace

std::optional<fec_encoder> fec_encoder::create(std::size_t data, std::size_t parity,
                                               std::size_t header_offset,
                                               std::uint32_t first_seqid) {
    auto codec = reed_solomon::create(data, parity);
    if (!codec) {
        return std::nullopt;
    }
    if (header_offset + fec_data_header_size > mtu_limit) {
        throw std::invalid_argument("smux::kcp::fec_encoder: header offset past the datagram");
    }
    if (first_seqid % (data + parity) != 0 || first_seqid >= wrap_point(data + parity)) {
        throw std::invalid_argument("smux::kcp::fec_encoder: first seqid must begin a group");
    }
    return fec_encoder(std::move(*codec), header_offset, first_seqid);
}

fec_encoder::fec_encoder(reed_solomon codec, std::size_t header_offset, std::uint32_t first_seqid)
    : codec_(std::move(codec)),
      header_offset_(header_offset),
      wrap_(wrap_point(codec_.data_shards() + codec_.parity_shards())),
      next_(first_seqid),
      slots_((codec_.data_shards() + codec_.parity_shards()) * mtu_limit),
      lengths_(codec_.data_shards()),
      data_in_(codec_.data_shards()),
      parity_out_(codec_.parity_shards()),
      parity_datagrams_(codec_.parity_shards()) {}

std::span<std::byte> fec_encoder::slot(std::size_t i) noexcept {
    return std::span(slots_).subspan(i * mtu_limit, mtu_limit);
}

std::span<std::span<std::byte> const> fec_encoder::encode(std::span<std::byte> datagram) {
    std::size_t const size_at = header_offset_ + fec_header_size;
    if (datagram.size() < size_at + 2 || datagram.size() > mtu_limit) {
        throw std::length_error("smux::kcp::fec_encoder: datagram too short or too long");
    }
    write_header(datagram.data() + header_offset_, next_++, fec_flag_data);
    detail::put_le(datagram.data() + size_at,
                   static_cast<std::uint16_t>(datagram.size() - size_at));

    // The caller reuses its buffer: keep what the code covers (size field and KCP bytes).
    std::copy(datagram.begin() + static_cast<std::ptrdiff_t>(size_at), datagram.end(),
              slot(collected_).begin() + static_cast<std::ptrdiff_t>(size_at));
    lengths_[collected_++] = datagram.size();
    longest_ = std::max(longest_, datagram.size());
    if (collected_ < data_shards()) {
        return {};
    }
    make_parity();
    collected_ = 0;
    longest_ = 0;
    return parity_datagrams_;
}

void fec_encoder::make_parity() {
    std::size_t const size_at = header_offset_ + fec_header_size;
    std::size_t const d = data_shards();
    for (std::size_t i = 0; i < d; ++i) {
        auto const s = slot(i);
        std::fill(s.begin() + static_cast<std::ptrdiff_t>(lengths_[i]),
                  s.begin() + static_cast<std::ptrdiff_t>(longest_), std::byte{0});
        data_in_[i] = s.data() + size_at;
    }
    for (std::size_t j = 0; j < parity_shards(); ++j) {
        parity_out_[j] = slot(d + j).data() + size_at;
    }
    codec_.encode(data_in_, parity_out_, longest_ - size_at);
    for (std::size_t j = 0; j < parity_shards(); ++j) {
        auto const s = slot(d + j);
        write_header(s.data() + header_offset_, next_, fec_flag_parity);
        next_ = (next_ + 1) % wrap_;  // seqids wrap only after a parity shard: groups stay whole
        parity_datagrams_[j] = s.first(longest_);
    }
}

}  // namespace smux::kcp
