#ifndef SMUX_KCP_CONVERSATION_HPP
#define SMUX_KCP_CONVERSATION_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "smux/kcp/crypt.hpp"
#include "smux/kcp/encrypt_queue.hpp"
#include "smux/kcp/engine.hpp"
#include "smux/kcp/export.hpp"
#include "smux/kcp/fec_decoder.hpp"
#include "smux/kcp/fec_encoder.hpp"
#include "smux/kcp/nonce.hpp"

namespace smux::kcp {

/// Why a datagram (or the rest of it) was dropped; each has a counter.
struct SMUX_KCP_EXPORT drop_counters {
    std::uint64_t too_short = 0;      ///< < 20 bytes with a cipher, or < 24 after the headers
    std::uint64_t bad_crc = 0;        ///< kcp-go's InCsumErrors
    std::uint64_t malformed = 0;      ///< a KCP segment with a bad command or length
    std::uint64_t wrong_conv = 0;     ///< a KCP segment of another conversation
    std::uint64_t fec_malformed = 0;  ///< FEC flag but no whole header, or refused by the decoder

    /// Adds `o` field by field (a listener sums its conversations' counters).
    drop_counters& operator+=(drop_counters const& o) noexcept;
};

/// What the outer layers did (the engine's own counters are in `engine_stats`).
struct conversation_counters {
    std::uint64_t datagrams_in = 0;  ///< every datagram handed to `input`
    /// bytes of those datagrams
    std::uint64_t bytes_in = 0;
    std::uint64_t datagrams_out = 0;  ///< parity ones included
    /// bytes of those datagrams
    std::uint64_t bytes_out = 0;
    /// FEC parity datagrams sent
    std::uint64_t parity_out = 0;
    std::uint64_t fec_recovered = 0;  ///< data shards rebuilt and fed to the engine
    /// what was dropped, and why
    drop_counters dropped;
};

/** The outcome of `open_datagram`: the bytes behind the crypt header, or why none. */
struct opened_datagram {
    std::span<std::byte> payload;  ///< FEC header or KCP bytes; empty when dropped
    /// dropped: too short for the crypt header and a segment header
    bool too_short = false;
    /// dropped: the CRC-32 did not match after decryption
    bool bad_crc = false;
    /// True when the datagram was kept.
    [[nodiscard]] bool ok() const noexcept { return !too_short && !bad_crc; }
};

/** kcp-go's packetInput up to the conv lookup (KCP.md §1, §2): with a cipher, decrypts the
    whole datagram in place, checks the CRC and strips 20 bytes; without one, takes it as it
    is. What remains must hold at least 24 bytes. */
[[nodiscard]] SMUX_KCP_EXPORT opened_datagram open_datagram(block_crypt* crypt,
                                                            std::span<std::byte> datagram);

/// What a listener needs to route an opened datagram (KCP.md §4, Listener.packetInput).
struct routing_info {
    bool fec = false;     ///< FEC header present (data or parity)
    bool parity = false;  ///< an FEC parity shard: no conv readable
    /// the conv of the first segment, when one is readable
    std::optional<std::uint32_t> conv;
    std::uint32_t sn = 0;  ///< of the first segment, when `conv` is set
};
/// Reads the FEC header and the first segment's conv and sn, without changing anything.
[[nodiscard]] SMUX_KCP_EXPORT routing_info
peek_routing(std::span<std::byte const> payload) noexcept;

/** One KCP conversation with kcp-go's packet layers around it, sans I/O: an optional block
    cipher (with nonce and CRC; kcptun always has one, `none` included), optional FEC and the
    engine. Datagrams in (`input`), whole encrypted datagrams out through a `datagram_sink`
    (parity ones included), time in as a wrapping millisecond clock. Not thread-safe. */
class SMUX_KCP_EXPORT conversation {
  public:
    /** `cfg.header_reserve` is set here (20 with a cipher, +8 with FEC). FEC is on when
        `data` and `parity` are valid for Reed-Solomon (kcp-go silently turns it off else).
        `crypt` may be shared by conversations that run on one thread (a listener's).
        @throws engine_config_error as `engine`. */
    conversation(engine_config cfg, std::shared_ptr<block_crypt> crypt, std::size_t data = 0,
                 std::size_t parity = 0);

    /// A whole UDP datagram, decrypted in place. May send datagrams. False when the crypt
    /// layer dropped it (too short, bad CRC): nothing of it reached FEC or the engine.
    bool input(std::span<std::byte> datagram, std::uint32_t now, datagram_sink out);
    /// The bytes `open_datagram` left (a listener opens before routing).
    void input_opened(std::span<std::byte const> payload, std::uint32_t now, datagram_sink out);

    /// As engine::send followed by a flush when anything was taken (kcptun: no write delay).
    std::size_t send(std::span<std::byte const> bytes, std::uint32_t now, datagram_sink out);
    /// engine::send alone: several writes, then one `flush`.
    std::size_t queue(std::span<std::byte const> bytes) { return engine_.send(bytes); }
    /// As `engine::recv`: moves received bytes, in order, into `out`; returns how many.
    std::size_t recv(std::span<std::byte> out) { return engine_.recv(out); }
    /// As `engine::readable`: bytes `recv` can return now.
    [[nodiscard]] std::size_t readable() const noexcept { return engine_.readable(); }
    /// As `engine::can_send`: true while `send` would take bytes.
    [[nodiscard]] bool can_send() const noexcept { return engine_.can_send(); }

    /// As `engine::flush`, the datagrams sealed (FEC, crypt) on their way to `out`.
    void flush(std::uint32_t now, datagram_sink out);
    /// As `engine::update`, the datagrams sealed on their way to `out`; returns when it is
    /// due next.
    std::uint32_t update(std::uint32_t now, datagram_sink out);
    /// As `engine::check`: when `update` is due.
    [[nodiscard]] std::uint32_t check(std::uint32_t now) const noexcept {
        return engine_.check(now);
    }

    /// The conversation id.
    [[nodiscard]] std::uint32_t conv() const noexcept { return engine_.config().conv; }
    /// The KCP engine inside.
    [[nodiscard]] engine const& kcp() const noexcept { return engine_; }
    /// True when this side sends FEC shards.
    [[nodiscard]] bool fec_enabled() const noexcept { return encoder_.has_value(); }
    /// The datagram layers' counters.
    [[nodiscard]] conversation_counters counters() const noexcept;

  private:
    struct sealer;
    void input_fec(std::span<std::byte const> payload, std::uint32_t now, datagram_sink out);
    void seal(std::span<std::byte> datagram, datagram_sink out);
    /// Hands out what encrypt_queue_ holds: at the end of every call that seals.
    void drain(datagram_sink out);

    std::shared_ptr<block_crypt> crypt_;
    encrypt_queue encrypt_queue_;
    std::optional<fec_encoder> encoder_;
    std::optional<fec_decoder> decoder_;  ///< made on the first FEC datagram
    std::size_t data_;
    std::size_t parity_;
    nonce_source nonces_;
    engine engine_;
    conversation_counters counters_;
};

}  // namespace smux::kcp

#endif
