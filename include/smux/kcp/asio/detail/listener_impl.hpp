#ifndef SMUX_KCP_ASIO_DETAIL_LISTENER_IMPL_HPP
#define SMUX_KCP_ASIO_DETAIL_LISTENER_IMPL_HPP

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include <asio/ip/udp.hpp>

#include "smux/kcp/asio/detail/conversation_io.hpp"
#include "smux/kcp/asio/export.hpp"
#include "smux/kcp/asio/stream.hpp"

namespace smux::kcp {
struct listener_stats;
}

namespace smux::kcp::detail {

class receive_batch;
class send_batch;

struct accept_data {
    std::uint64_t serial = 0;
};

/** The shared state of a `listener`: its socket, the conversations by remote address, the
    accept backlog and a parked accept. Everything runs on one strand, the conversations'
    too, so a datagram is decrypted and handed to its engine in the receive buffer. */
class SMUX_KCP_ASIO_EXPORT listener_impl final : public std::enable_shared_from_this<listener_impl>,
                                                 public teardown_target {
  public:
    using endpoint_type = net::ip::udp::endpoint;
    using accept_slot = smux::detail::op_slot<void(error_code, stream), accept_data>;
    /// kcp-go's acceptBacklog.
    static constexpr std::size_t backlog_limit = 128;

    listener_impl(net::any_io_executor const& ex, endpoint_type const& local, options opts);
    ~listener_impl();

    /// Starts reading (after construction, any thread).
    void start();
    void drop_parked() noexcept override;

    [[nodiscard]] conversation_io::strand_type const& strand() const noexcept { return strand_; }
    [[nodiscard]] net::any_io_executor const& executor() const noexcept { return executor_; }
    /// Strand only: the work the parked accept keeps on the strand.
    [[nodiscard]] smux::detail::parked_work& parked() noexcept { return parked_; }
    [[nodiscard]] endpoint_type local_endpoint() const { return socket_.local_endpoint(); }
    std::uint64_t next_serial() noexcept { return serial_.fetch_add(1) + 1; }

    // ---- strand only
    [[nodiscard]] accept_slot& accept_op() noexcept { return accept_; }
    /// An accept was parked: completes it if a conversation waits (or the listener closed).
    void start_accept();
    void cancel_accept(std::uint64_t serial);
    void close();
    [[nodiscard]] listener_stats stats() const;

    // ---- for the conversations' links (strand)
    /// Queues a datagram; `flush_sends` sends every conversation's queued datagrams at once.
    void send_to(std::span<std::byte const> datagram, endpoint_type const& to,
                 conversation_io& from);
    void flush_sends() noexcept;
    /// `c` ended: it leaves the table (if it is still the one for `remote`) and the backlog.
    void forget(endpoint_type const& remote, conversation_io const* c);

  private:
    struct counters;
    void receive();
    void on_receive(error_code ec, std::size_t n);
    void route(std::span<std::byte> datagram, endpoint_type const& from);
    void create(std::span<std::byte const> payload, std::uint32_t conv, endpoint_type const& from);
    void deliver_accept();

    conversation_io::strand_type strand_;
    net::any_io_executor executor_;
    options opts_;
    std::shared_ptr<block_crypt> crypt_;
    net::ip::udp::socket socket_;
    std::map<endpoint_type, std::shared_ptr<conversation_io>> table_;
    std::deque<std::shared_ptr<conversation_io>> backlog_;
    std::vector<std::shared_ptr<conversation_io>> touched_;  ///< to settle after a batch
    std::unique_ptr<counters> counters_;
    std::atomic<std::uint64_t> serial_{0};
    smux::detail::parked_work parked_;  ///< before the slot: outlives its operation
    accept_slot accept_;
    bool closed_ = false;
    endpoint_type sender_;
    std::array<std::byte, mtu_limit> buffer_{};
    std::unique_ptr<receive_batch> batch_;
    std::unique_ptr<send_batch> sends_;
};

/// An accept's cancellation: forwarded to the strand, applied if still parked.
class cancel_accept_request {
  public:
    cancel_accept_request(std::weak_ptr<listener_impl> l, std::uint64_t serial) noexcept
        : l_(std::move(l)), serial_(serial) {}

    void operator()(net::cancellation_type /*type*/) const {
        if (auto l = l_.lock()) {
            net::post(l->strand(), [l, serial = serial_] { l->cancel_accept(serial); });
        }
    }

  private:
    std::weak_ptr<listener_impl> l_;
    std::uint64_t serial_;
};

}  // namespace smux::kcp::detail

#endif
