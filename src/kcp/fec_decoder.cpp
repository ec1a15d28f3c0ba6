// kcp-go's fecDecoder (KCP.md §3): the sorted shard queue, group release and recovery, the
// limit and the expiry, and retuning from the flag pattern. Shard bytes live in fixed slots
// of mtu_limit, so zero padding for the code happens in place.

#include "smux/kcp/fec_decoder.hpp"

#include <algorithm>

#include "little_endian.hpp"
#include "smux/kcp/packet.hpp"

namespace smux::kcp {

namespace {

/// kcp-go's _itimediff: seqids and clocks compare modulo 2^32.
std::int32_t diff(std::uint32_t later, std::uint32_t earlier) noexcept {
    return static_cast<std::int32_t>(later - earlier);
}

reed_solomon starting_codec(std::size_t data, std::size_t parity) {
    auto codec = reed_solomon::create(data, parity);
    if (!codec) {
        codec = reed_solomon::create(1, 1);
    }
    return std::move(*codec);
}

bool well_formed(std::optional<fec_header> const& h, std::size_t length) noexcept {
    if (!h || length < fec_data_header_size || length > mtu_limit) {
        return false;
    }
    // kcp-go's sender writes size = length - 6; a data shard claiming more, or less than
    // its own size field, did not come from it.
    return h->is_parity() || (h->size >= 2 && h->size <= length - fec_header_size);
}

}  // namespace

fec_decoder::fec_decoder(std::size_t data, std::size_t parity)
    : codec_(starting_codec(data, parity)), group_(0), queue_limit_(0) {
    use(std::move(codec_));
}

void fec_decoder::use(reed_solomon codec) {
    codec_ = std::move(codec);
    std::size_t const d = codec_.data_shards();
    std::size_t const p = codec_.parity_shards();
    group_ = d + p;
    queue_limit_ = fec_queue_groups * group_;
    // Room for the largest the queue gets (one over the limit until trimmed), reserved now so
    // that decoding allocates nothing later.
    queue_.reserve(queue_limit_ + 1);
    free_.reserve(queue_limit_ + 1);
    store_.reserve((queue_limit_ + 1) * mtu_limit);
    rebuilt_store_.resize(std::min(d, p) * mtu_limit);
    shards_.assign(group_, nullptr);
    rebuilt_.assign(d, nullptr);
    members_.reserve(group_);
    out_.reserve(std::min(d, p));
}

std::byte* fec_decoder::slot(std::size_t i) noexcept {
    return store_.data() + i * mtu_limit;
}

std::span<std::span<std::byte const> const> fec_decoder::decode(std::span<std::byte const> shard,
                                                                std::uint32_t now_ms) {
    out_.clear();
    auto const header = read_fec_header(shard);
    if (!well_formed(header, shard.size())) {
        ++counters_.malformed;
        return {};
    }
    bool const data = !header->is_parity();
    ++counters_.shards_in;
    counters_.parity_in += data ? 0 : 1;

    autotune(data, header->seqid);
    auto const at = insert(shard, data, now_ms);
    if (!at) {
        ++counters_.duplicates;
        evict_over_limit();  // the retune above may have lowered the limit
        return {};
    }
    try_group(*at);
    evict_over_limit();
    // The queue is sorted by seqid, not by arrival: as kcp-go, expire only from the front.
    std::size_t expired = 0;
    while (expired < queue_.size() &&
           diff(now_ms, queue_[expired].arrived_ms) > static_cast<std::int32_t>(fec_expire_ms)) {
        ++expired;
    }
    counters_.expired += expired;
    drop_front(expired);
    return out_;
}

void fec_decoder::evict_over_limit() {
    if (queue_.size() > queue_limit_) {  // kcp-go drops one; after a retune more may be over
        std::size_t const over = queue_.size() - queue_limit_;
        counters_.evicted += over;
        drop_front(over);
    }
}

void fec_decoder::autotune(bool data, std::uint32_t seqid) {
    tune_.sample(data, seqid);
    bool const expected_data = seqid % group_ < data_shards();
    if (expected_data == data) {
        return;
    }
    int const d = tune_.find_period(true);
    int const p = tune_.find_period(false);
    if (d <= 0 || p <= 0 || d >= 256 || p >= 256) {  // kcp-go's bounds
        return;
    }
    auto const ud = static_cast<std::size_t>(d);
    auto const up = static_cast<std::size_t>(p);
    if (ud == data_shards() && up == parity_shards()) {
        return;
    }
    if (auto codec = reed_solomon::create(ud, up)) {
        use(std::move(*codec));
        ++counters_.retunes;
    }
}

std::optional<std::size_t> fec_decoder::insert(std::span<std::byte const> shard, bool data,
                                               std::uint32_t now_ms) {
    auto const seqid = detail::get_le<std::uint32_t>(shard.data());
    std::size_t at = 0;
    for (std::size_t i = queue_.size(); i-- > 0;) {
        if (queue_[i].seqid == seqid) {
            return std::nullopt;
        }
        if (diff(seqid, queue_[i].seqid) > 0) {
            at = i + 1;
            break;
        }
    }
    std::uint16_t s = 0;
    if (free_.empty()) {
        s = static_cast<std::uint16_t>(store_.size() / mtu_limit);
        store_.resize(store_.size() + mtu_limit);
    } else {
        s = free_.back();
        free_.pop_back();
    }
    std::copy(shard.begin(), shard.end(), slot(s));
    queue_.insert(queue_.begin() + static_cast<std::ptrdiff_t>(at),
                  queued_shard{.seqid = seqid,
                               .arrived_ms = now_ms,
                               .length = static_cast<std::uint16_t>(shard.size()),
                               .slot = s,
                               .data = data});
    return at;
}

void fec_decoder::try_group(std::size_t index) {
    // The group's shards are neighbours in the sorted queue: look at most d+p entries from
    // where the first one can be, as kcp-go does.
    std::uint32_t const seqid = queue_[index].seqid;
    std::uint32_t const position = seqid % static_cast<std::uint32_t>(group_);
    std::uint32_t const begin = seqid - position;
    std::uint32_t const end = begin + static_cast<std::uint32_t>(group_) - 1;
    std::size_t const first = index >= position ? index - position : 0;
    std::size_t const last = std::min(queue_.size(), first + group_);
    if (last - first < data_shards()) {
        return;
    }
    std::fill(shards_.begin(), shards_.end(), nullptr);
    members_.clear();
    std::size_t data_flagged = 0;
    std::size_t longest = 0;
    for (std::size_t i = first; i < last; ++i) {
        queued_shard const& q = queue_[i];
        if (diff(q.seqid, end) > 0) {
            break;
        }
        std::byte const*& place = shards_[q.seqid % group_];
        // (a position taken twice needs seqids more than 2^31 apart: hostile input only)
        if (diff(q.seqid, begin) < 0 || place != nullptr) {
            continue;
        }
        place = slot(q.slot) + fec_header_size;
        members_.push_back(i);
        data_flagged += q.data ? 1 : 0;
        longest = std::max<std::size_t>(longest, q.length - fec_header_size);
    }
    if (data_flagged == data_shards()) {
        release(members_);
    } else if (members_.size() >= data_shards()) {
        rebuild(longest);
        release(members_);
    }
}

void fec_decoder::rebuild(std::size_t longest) {
    for (std::size_t const i : members_) {  // zero padding to the longest, as the sender did
        queued_shard const& q = queue_[i];
        std::fill(slot(q.slot) + q.length, slot(q.slot) + fec_header_size + longest, std::byte{0});
    }
    std::size_t missing = 0;
    for (std::size_t i = 0; i < data_shards(); ++i) {
        rebuilt_[i] =
            shards_[i] != nullptr ? nullptr : rebuilt_store_.data() + (missing++) * mtu_limit;
    }
    if (missing == 0) {
        return;
    }
    if (!codec_.reconstruct_data(shards_, rebuilt_, longest)) {
        ++counters_.recovery_failed;
        return;
    }
    for (std::size_t i = 0; i < data_shards(); ++i) {
        if (rebuilt_[i] == nullptr) {
            continue;
        }
        auto const size = detail::get_le<std::uint16_t>(rebuilt_[i]);
        if (size >= 2 && size <= longest) {
            out_.emplace_back(rebuilt_[i] + 2, size - 2U);
            ++counters_.recovered;
        } else {
            ++counters_.recovery_failed;
        }
    }
}

void fec_decoder::release(std::span<std::size_t const> indices) {
    // `indices` ascend: one pass closes the gaps they leave.
    std::size_t write = indices.front();
    std::size_t k = 0;
    for (std::size_t read = indices.front(); read < queue_.size(); ++read) {
        if (k < indices.size() && indices[k] == read) {
            free_.push_back(queue_[read].slot);
            ++k;
        } else {
            queue_[write++] = queue_[read];
        }
    }
    queue_.resize(write);
}

void fec_decoder::drop_front(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        free_.push_back(queue_[i].slot);
    }
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace smux::kcp
