#ifndef SMUX_KCP_ENGINE_HPP
#define SMUX_KCP_ENGINE_HPP

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "smux/kcp/export.hpp"
#include "smux/kcp/mtu.hpp"
#include "smux/kcp/segment.hpp"

namespace smux::kcp {

/// The largest segment payload a datagram of `mtu_limit` bytes can carry.
inline constexpr std::size_t max_segment_payload = mtu_limit - segment_header_size;

/** kcp-go's KCP knobs (kcp.go: NewKCP, NoDelay, WndSize, SetMtu, ReserveBytes; sess.go:
    SetStreamMode, SetACKNoDelay). Defaults are kcp-go's, not kcptun's: see `apply_mode` and
    KCP.md §4 for kcptun's. */
struct engine_config {
    /// Conversation id; both ends use the same.
    std::uint32_t conv = 0;
    /// Whole datagram, reserve included; 50..1500 (kcp-go refuses anything else).
    std::size_t mtu = 1400;
    /// Bytes left free at the front of every datagram for the crypt and FEC headers (kcp-go's
    /// `reserved`: 20 + 8 for kcptun's defaults). mss = mtu - 24 - header_reserve.
    std::size_t header_reserve = 0;
    std::uint32_t snd_wnd = 32;    ///< segments; at least 1
    std::uint32_t rcv_wnd = 32;    ///< segments; 1..65535 (the wire field is 16 bits)
    bool nodelay = false;          ///< min RTO 30 ms instead of 100, gentler RTO back-off
    std::uint32_t interval = 100;  ///< flush period in ms; clamped to 10..5000 as kcp-go does
    std::uint32_t resend = 0;      ///< fast-acks that trigger a fast resend; 0 disables it
    bool nc = false;               ///< no congestion window (only snd_wnd and the peer's wnd)
    bool stream = false;           ///< stream mode: writes fill the last unsent segment
    bool ack_nodelay = false;      ///< input() sends pending ACKs at once
};

/// kcptun's `--mode` presets (KCP.md §4).
enum class mode { normal, fast, fast2, fast3 };

/// Sets nodelay, interval, resend and nc as kcptun's `--mode` does.
SMUX_KCP_EXPORT void apply_mode(engine_config& cfg, mode m) noexcept;

/// The preset named by a kcptun `--mode` value, or empty for any other name (kcptun then uses
/// its hidden `--nodelay/--interval/--resend/--nc` flags).
[[nodiscard]] SMUX_KCP_EXPORT std::optional<mode> parse_mode(std::string_view name) noexcept;

/// An `engine_config` the engine refuses; the message names the field and its limit.
class SMUX_KCP_EXPORT engine_config_error : public std::invalid_argument {
  public:
    using std::invalid_argument::invalid_argument;
};

/// Empty when `cfg` is usable, else why not.
[[nodiscard]] SMUX_KCP_EXPORT std::string validate(engine_config const& cfg);

/// What `engine::input` made of one datagram's KCP bytes (kcp-go's Input return codes).
enum class input_status {
    ok,
    too_short,   ///< fewer than 24 bytes: nothing done
    wrong_conv,  ///< a segment of another conversation ended the parse
    malformed,   ///< a bad command or a length past the end ended the parse
};

/** Counters (since creation) and the current state, for a status line. Counter names follow
    kcp-go's SNMP where one exists. */
struct engine_stats {
    std::uint64_t datagrams_in = 0;        ///< input() calls with at least 24 bytes
    std::uint64_t bytes_in = 0;            ///< KCP bytes of those
    std::uint64_t segments_in = 0;         ///< InSegs
    std::uint64_t input_errors = 0;        ///< KCPInErrors: too short, wrong conv, malformed
    std::uint64_t duplicate_segments = 0;  ///< RepeatSegs: regular PUSH not stored
    /// datagrams handed to the sink
    std::uint64_t datagrams_out = 0;
    std::uint64_t bytes_out = 0;            ///< whole datagrams, header_reserve included
    std::uint64_t segments_out = 0;         ///< OutSegs: every segment written
    std::uint64_t data_segments_out = 0;    ///< PUSH transmissions, first ones included
    std::uint64_t retransmits = 0;          ///< RetransSegs = fast + early + timeout
    std::uint64_t fast_retransmits = 0;     ///< FastRetransSegs
    std::uint64_t early_retransmits = 0;    ///< EarlyRetransSegs
    std::uint64_t timeout_retransmits = 0;  ///< LostSegs
    std::uint64_t forced_ack_flushes = 0;   ///< ACK list full: ACKs sent before the flush
    std::uint64_t bytes_sent = 0;           ///< user bytes accepted by send()
    std::uint64_t bytes_received = 0;       ///< user bytes returned by recv()

    std::int32_t srtt = 0;  ///< ms
    /// ms: RTT variation
    std::int32_t rttvar = 0;
    /// ms: the current retransmission timeout
    std::uint32_t rto = 0;
    /// segments: the configured send window
    std::uint32_t snd_wnd = 0;
    /// segments: the configured receive window
    std::uint32_t rcv_wnd = 0;
    std::uint32_t rmt_wnd = 0;  ///< the peer's last advertised free slots
    std::uint32_t cwnd = 0;     ///< congestion window (used when nc is off)
    std::size_t snd_queue = 0;  ///< segments not yet sent
    std::size_t snd_buf = 0;    ///< segments in flight (acked ones until una passes them)
    std::size_t rcv_buf = 0;    ///< out-of-order segments
    std::size_t rcv_queue = 0;  ///< in-order segments waiting for recv()
    /// ACKs waiting for the next flush
    std::size_t pending_acks = 0;
    std::size_t pooled_blocks = 0;  ///< free payload blocks kept for reuse
    bool dead_link = false;         ///< a segment went out 20 times (kcp-go marks it, never acts)
};

/** A non-owning reference to a callable taking `std::span<std::byte>`: each datagram `flush`
    produces, `header_reserve` bytes at its front left for the caller to fill in place (crypt
    and FEC headers). The span is valid only during the call. */
class datagram_sink {
  public:
    /// Refers to `f`, which must outlive the sink (it is passed inline to the engine's calls).
    // The requires clause keeps this constructor from hiding the copy and move constructors;
    // clang-tidy 14's bugprone-forwarding-reference-overload sees enable_if only, not it.
    // NOLINTBEGIN(bugprone-forwarding-reference-overload)
    template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, datagram_sink> &&
             std::invocable<F&, std::span<std::byte>>) datagram_sink(F&& f)
    noexcept  // NOLINT(google-explicit-constructor): passed inline
        : obj_(const_cast<void*>(static_cast<void const*>(std::addressof(f)))),
          call_([](void* obj, std::span<std::byte> d) {
              (*static_cast<std::remove_reference_t<F>*>(obj))(d);
          }) {}
    // NOLINTEND(bugprone-forwarding-reference-overload)

    /// Hands one datagram to the referenced callable.
    void operator()(std::span<std::byte> datagram) const { call_(obj_, datagram); }

  private:
    void* obj_;
    void (*call_)(void*, std::span<std::byte>);
};

/** kcp-go's KCP state machine (kcp.go, as kcp-go's UDPSession and kcptun drive it), sans I/O:
    no socket, no thread, no clock. Every call that needs time takes `now`, a wrapping
    millisecond clock (compared as kcp-go's _itimediff). Datagrams go out through a
    `datagram_sink` during `input`, `flush` and `update`.

    Memory is bounded by the windows whatever a peer sends: at most rcv_wnd out-of-order and
    rcv_wnd in-order received segments, snd_wnd segments to send (`send` accepts no more), and
    2·rcv_wnd pending ACKs (when full they go out at once). Payloads live in pooled blocks that
    `update` trims when the engine is idle.

    Deviations from kcp-go 5.6.1, all invisible to a kcp-go peer: `send` accepts only what the
    send window holds (kcp-go takes a whole write once below it); `recv` is a byte stream that
    ignores frg (kcp-go assembles messages; its UDPSession peers always send frg 0) and skips
    empty PUSH segments (kcp-go's Read stalls on one); KCP bytes past 1500 are ignored (kcp-go's
    reader never delivers them).

    @par Thread Safety
    None: one engine is used by one thread (or strand) at a time. */
class SMUX_KCP_EXPORT engine {
  public:
    /// @throws engine_config_error when `validate(cfg)` is not empty.
    explicit engine(engine_config const& cfg);
    ~engine();
    /// Moves the engine; the moved-from one may only be destroyed or assigned to.
    engine(engine&&) noexcept;
    /// Moves the engine; the moved-from one may only be destroyed or assigned to.
    engine& operator=(engine&&) noexcept;

    /// The configuration the engine runs with.
    [[nodiscard]] engine_config const& config() const noexcept;
    /// Payload bytes per segment: mtu - 24 - header_reserve.
    [[nodiscard]] std::size_t mss() const noexcept;

    /** One datagram's KCP bytes (crypt and FEC headers already removed). `regular` is false
        for FEC-recovered data: it then neither sets the peer's window nor gives an RTT
        sample. May send datagrams (una advanced, ack_nodelay, ACK list full). */
    input_status input(std::span<std::byte const> kcp_bytes, bool regular, std::uint32_t now,
                       datagram_sink out);

    /** Queues bytes for sending and returns how many were taken: none once `wait_snd()` has
        reached min(snd_wnd, the peer's window). kcptun flushes after every write: call
        `flush` afterwards to do the same. */
    std::size_t send(std::span<std::byte const> bytes);
    /// True while `send` would take bytes (kcp-go's writer wake-up condition).
    [[nodiscard]] bool can_send() const noexcept;
    /// Segments queued or in flight (kcp-go's WaitSnd).
    [[nodiscard]] std::size_t wait_snd() const noexcept;

    /// Moves received bytes, in order, into `out`; returns how many.
    std::size_t recv(std::span<std::byte> out);
    /// Copies what `recv` would return without consuming it.
    [[nodiscard]] std::size_t peek(std::span<std::byte> out) const noexcept;
    /// Bytes `recv` can return now.
    [[nodiscard]] std::size_t readable() const noexcept;

    /// kcp-go's flush: ACKs, window probe and tell, new data, retransmissions.
    void flush(std::uint32_t now, datagram_sink out);
    /// The periodic tick (kcp-go's UDPSession.update): flushes and returns the time of the
    /// next tick, at most `interval` ms away, sooner when a retransmission is due.
    std::uint32_t update(std::uint32_t now, datagram_sink out);
    /// When `update` is due: `now` before the first update or when overdue.
    [[nodiscard]] std::uint32_t check(std::uint32_t now) const noexcept;

    /// Counters and the current state.
    [[nodiscard]] engine_stats stats() const noexcept;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace smux::kcp

#endif
