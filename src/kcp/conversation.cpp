// kcp-go's UDPSession packet path without the socket (sess.go: packetInput, kcpInput,
// output): crypt header, FEC, engine.

#include "smux/kcp/conversation.hpp"

#include "little_endian.hpp"
#include "smux/kcp/export.hpp"
#include "smux/kcp/packet.hpp"

namespace smux::kcp {

using detail::get_le;

drop_counters& drop_counters::operator+=(drop_counters const& o) noexcept {
    too_short += o.too_short;
    bad_crc += o.bad_crc;
    malformed += o.malformed;
    wrong_conv += o.wrong_conv;
    fec_malformed += o.fec_malformed;
    return *this;
}

opened_datagram open_datagram(block_crypt* crypt, std::span<std::byte> datagram) {
    if (crypt != nullptr) {
        if (datagram.size() < crypt_header_size) {
            return {.too_short = true};
        }
        crypt->decrypt(datagram);
        if (!crc_matches(datagram)) {
            return {.bad_crc = true};
        }
        datagram = datagram.subspan(crypt_header_size);
    }
    if (datagram.size() < segment_header_size) {
        return {.too_short = true};
    }
    return {.payload = datagram};
}

routing_info peek_routing(std::span<std::byte const> payload) noexcept {
    routing_info r;
    std::size_t kcp_at = 0;
    if (payload.size() >= fec_header_size) {
        auto const flag = get_le<std::uint16_t>(payload.data() + 4);
        r.fec = flag == fec_flag_data || flag == fec_flag_parity;
        r.parity = flag == fec_flag_parity;
        kcp_at = r.fec ? fec_data_header_size : 0;
    }
    if (!r.parity && payload.size() >= kcp_at + segment_header_size) {
        r.conv = get_le<std::uint32_t>(payload.data() + kcp_at);
        r.sn = get_le<std::uint32_t>(payload.data() + kcp_at + 12);
    }
    return r;
}

namespace {

void count_status(drop_counters& d, input_status s) noexcept {
    d.too_short += s == input_status::too_short ? 1 : 0;
    d.wrong_conv += s == input_status::wrong_conv ? 1 : 0;
    d.malformed += s == input_status::malformed ? 1 : 0;
}

engine_config with_reserve(engine_config cfg, bool crypt, std::size_t data, std::size_t parity) {
    cfg.header_reserve = (crypt ? crypt_header_size : 0) +
                         (reed_solomon::valid(data, parity) ? fec_data_header_size : 0);
    return cfg;
}

}  // namespace

conversation::conversation(engine_config cfg, std::shared_ptr<block_crypt> crypt, std::size_t data,
                           std::size_t parity)
    : crypt_(std::move(crypt)),
      encrypt_queue_(crypt_ ? crypt_->lanes() : 1),
      encoder_(fec_encoder::create(data, parity, crypt_ ? crypt_header_size : 0)),
      data_(data),
      parity_(parity),
      engine_(with_reserve(cfg, crypt_ != nullptr, data, parity)) {}

/// The engine's output path: FEC encode in place, then nonce, CRC and encryption for the
/// datagram and each parity datagram (kcp-go's output). Hidden, though nested in an exported
/// class.
struct SMUX_KCP_NO_EXPORT conversation::sealer {
    conversation& c;
    datagram_sink out;

    void operator()(std::span<std::byte> datagram) const {
        std::span<std::span<std::byte> const> parity;
        if (c.encoder_) {
            parity = c.encoder_->encode(datagram);
        }
        c.seal(datagram, out);
        for (std::span<std::byte> p : parity) {
            ++c.counters_.parity_out;
            c.seal(p, out);
        }
    }
};

bool conversation::input(std::span<std::byte> datagram, std::uint32_t now, datagram_sink out) {
    opened_datagram const o = open_datagram(crypt_.get(), datagram);
    if (!o.ok()) {
        ++counters_.datagrams_in;
        counters_.bytes_in += datagram.size();
        counters_.dropped.too_short += o.too_short ? 1 : 0;
        counters_.dropped.bad_crc += o.bad_crc ? 1 : 0;
        return false;
    }
    counters_.bytes_in += datagram.size() - o.payload.size();  // the crypt header
    input_opened(o.payload, now, out);
    return true;
}

void conversation::input_opened(std::span<std::byte const> payload, std::uint32_t now,
                                datagram_sink out) {
    ++counters_.datagrams_in;
    counters_.bytes_in += payload.size();
    if (payload.size() >= fec_header_size) {
        auto const flag = get_le<std::uint16_t>(payload.data() + 4);
        if (flag == fec_flag_data || flag == fec_flag_parity) {
            input_fec(payload, now, out);
            return;
        }
    }
    count_status(counters_.dropped, engine_.input(payload, true, now, sealer{*this, out}));
    drain(out);
}

void conversation::seal(std::span<std::byte> datagram, datagram_sink out) {
    ++counters_.datagrams_out;
    counters_.bytes_out += datagram.size();
    if (!crypt_) {
        out(datagram);
        return;
    }
    nonces_.fill(datagram.first(nonce_size));
    seal_crc(datagram);
    if (crypt_->lanes() > 1) {
        encrypt_queue_.push(*crypt_, datagram, out);
        return;
    }
    crypt_->encrypt(datagram);
    out(datagram);
}

void conversation::drain(datagram_sink out) {
    if (crypt_) {
        encrypt_queue_.drain(*crypt_, out);
    }
}

// Data shards feed their own KCP bytes at once; the decoder may rebuild lost ones from
// parity, which go in as not regular (kcpInput). Too short for the size field: InErrs.
void conversation::input_fec(std::span<std::byte const> payload, std::uint32_t now,
                             datagram_sink out) {
    auto const header = read_fec_header(payload);
    if (!header) {
        ++counters_.dropped.fec_malformed;
        return;
    }
    if (!decoder_) {
        decoder_.emplace(data_, parity_);
    }
    auto const recovered = decoder_->decode(payload, now);
    if (!header->is_parity()) {
        count_status(counters_.dropped, engine_.input(payload.subspan(fec_data_header_size), true,
                                                      now, sealer{*this, out}));
    }
    for (std::span<std::byte const> r : recovered) {
        auto const s = engine_.input(r, false, now, sealer{*this, out});
        counters_.fec_recovered += s == input_status::ok ? 1 : 0;
        count_status(counters_.dropped, s);
    }
    drain(out);
}

std::size_t conversation::send(std::span<std::byte const> bytes, std::uint32_t now,
                               datagram_sink out) {
    std::size_t const n = engine_.send(bytes);
    if (n != 0) {
        flush(now, out);
    }
    return n;
}

void conversation::flush(std::uint32_t now, datagram_sink out) {
    engine_.flush(now, sealer{*this, out});
    drain(out);
}

std::uint32_t conversation::update(std::uint32_t now, datagram_sink out) {
    std::uint32_t const next = engine_.update(now, sealer{*this, out});
    drain(out);
    return next;
}

conversation_counters conversation::counters() const noexcept {
    conversation_counters c = counters_;
    if (decoder_) {
        c.dropped.fec_malformed += decoder_->counters().malformed;
    }
    return c;
}

}  // namespace smux::kcp
