#ifndef SMUX_KCP_ASIO_DETAIL_CONVERSATION_IO_HPP
#define SMUX_KCP_ASIO_DETAIL_CONVERSATION_IO_HPP

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "smux/detail/asio_compat.hpp"
#include "smux/detail/op_slot.hpp"
#include "smux/error.hpp"
#include "smux/kcp/asio/detail/teardown.hpp"
#include "smux/kcp/asio/export.hpp"
#include "smux/kcp/asio/options.hpp"
#include "smux/kcp/conversation.hpp"

namespace smux::kcp::detail {

using smux::error_code;

/// Where a conversation's datagrams go: its own connected socket (client) or its
/// listener's socket and remote endpoint. Called on the conversation's strand.
class datagram_link {
  public:
    virtual ~datagram_link() = default;
    /// Queues one datagram for `flush` (which may also run now, when the queue is full).
    virtual void send(std::span<std::byte const> datagram) = 0;
    /// Sends what is queued, or drops it (a full socket buffer: KCP resends). The conversation
    /// calls it before it leaves the strand after producing output.
    virtual void flush() noexcept = 0;
    /// The conversation ended: close the socket, or leave the listener.
    virtual void detach() noexcept = 0;
};

/// Counters of one conversation's socket side.
struct link_counters {
    std::uint64_t send_dropped = 0;  ///< datagrams the socket refused (would block, error)
};

inline constexpr std::size_t max_io_buffers = 16;

/** One conversation on an executor: the sans-I/O `conversation`, its timer, and at most one
    parked read and one parked write. Everything runs on `strand()`; what a listener shares
    with its conversations (socket, cipher) runs there too. Ends once (close, idle timeout,
    replacement, socket error): parked operations then complete with the reason. */
class SMUX_KCP_ASIO_EXPORT conversation_io final
    : public std::enable_shared_from_this<conversation_io>,
      public teardown_target {
  public:
    using strand_type = net::strand<net::any_io_executor>;
    template <class Byte>
    struct op_data {
        std::array<std::span<Byte>, max_io_buffers> buffers{};
        std::size_t count = 0;
        std::uint64_t serial = 0;
    };
    using read_slot = smux::detail::op_slot<void(error_code, std::size_t), op_data<std::byte>>;
    using write_slot =
        smux::detail::op_slot<void(error_code, std::size_t), op_data<std::byte const>>;
    enum class op_kind : std::uint8_t { read, write };

    conversation_io(strand_type strand, options const& opts, std::uint32_t conv,
                    std::shared_ptr<block_crypt> crypt);
    conversation_io(conversation_io const&) = delete;
    conversation_io& operator=(conversation_io const&) = delete;
    ~conversation_io();

    /// Made through here: the execution context's teardown must know it.
    static std::shared_ptr<conversation_io> create(strand_type strand, options const& opts,
                                                   std::uint32_t conv,
                                                   std::shared_ptr<block_crypt> crypt);

    /// Before any datagram: where output goes.
    void set_link(std::unique_ptr<datagram_link> link) { link_ = std::move(link); }

    [[nodiscard]] strand_type const& strand() const noexcept { return strand_; }
    [[nodiscard]] net::any_io_executor const& executor() const noexcept { return executor_; }
    /// Strand only: the work the parked operations keep on the strand.
    [[nodiscard]] smux::detail::parked_work& parked() noexcept { return parked_; }
    [[nodiscard]] std::uint32_t conv() const noexcept { return conv_.conv(); }
    /// Any thread: a number matching a cancellation request to its operation.
    std::uint64_t next_serial() noexcept { return serial_.fetch_add(1) + 1; }

    // ---- strand only
    /// A whole datagram from the peer (a client's socket).
    void on_datagram(std::span<std::byte> datagram);
    /// What `open_datagram` left (a listener opened and routed it).
    void on_opened(std::span<std::byte const> payload);
    /// After a batch of datagrams: completes what can complete, re-arms the timer.
    void settle();

    /// A read was parked in `read_op()`: completes it now if it can.
    void start_read();
    void start_write();
    void cancel(op_kind kind, std::uint64_t serial);
    [[nodiscard]] read_slot& read_op() noexcept { return read_; }
    [[nodiscard]] write_slot& write_op() noexcept { return write_; }
    /// Why it ended, once it did.
    [[nodiscard]] std::optional<error_code> ended() const noexcept { return ended_; }
    /// Ends it: parked operations complete with `why`; the link is detached. A user close
    /// first flushes what the engine holds (as kcp-go's Close), best effort.
    void end(error_code why, bool flush_first = false);

    void drop_parked() noexcept override;

    /// Any thread (values copied on the strand by the caller): counters.
    [[nodiscard]] conversation const& state() const noexcept { return conv_; }
    [[nodiscard]] link_counters const& links() const noexcept { return link_counters_; }
    link_counters& links() noexcept { return link_counters_; }

  private:
    [[nodiscard]] static std::uint32_t now_ms() noexcept;
    void complete_read_if_ready();
    void complete_write_if_ready();
    void arm_timer(std::uint32_t now);
    void on_timer(std::uint64_t generation);
    void send_out(std::span<std::byte> datagram);
    void flush_out() noexcept;

    strand_type strand_;
    net::any_io_executor executor_;  ///< strand_, type-erased once
    options opts_;
    conversation conv_;
    std::unique_ptr<datagram_link> link_;
    link_counters link_counters_;
    net::steady_timer timer_;
    std::optional<std::uint32_t> timer_due_;  ///< engine time the timer is armed for
    std::uint64_t timer_generation_ = 0;
    std::uint32_t last_input_;
    std::atomic<std::uint64_t> serial_{0};
    std::optional<error_code> ended_;
    smux::detail::parked_work parked_;  ///< before the slots: outlives their operations
    read_slot read_;
    write_slot write_;
};

/// Installed in a handler's cancellation slot: forwards to the strand, where it applies
/// only if the same operation is still parked.
class cancel_request {
  public:
    cancel_request(std::weak_ptr<conversation_io> c, conversation_io::op_kind kind,
                   std::uint64_t serial) noexcept
        : c_(std::move(c)), kind_(kind), serial_(serial) {}

    void operator()(net::cancellation_type /*type*/) const {
        if (auto c = c_.lock()) {
            net::post(c->strand(),
                      [c, kind = kind_, serial = serial_] { c->cancel(kind, serial); });
        }
    }

  private:
    std::weak_ptr<conversation_io> c_;
    conversation_io::op_kind kind_;
    std::uint64_t serial_;
};

}  // namespace smux::kcp::detail

#endif
