// kcp-go's Listener (sess.go: Listener.packetInput, monitor, AcceptKCP, closeSession).

#include "smux/kcp/asio/listener.hpp"

#include "receive_batch.hpp"
#include "send_batch.hpp"
#include "smux/kcp/asio/export.hpp"

namespace smux::kcp {

namespace detail {

// Hidden, though nested in an exported class.
struct SMUX_KCP_ASIO_NO_EXPORT listener_impl::counters : listener_stats {};

namespace {

/// A server-side conversation's way out: the listener's socket, to its remote address.
class listener_link final : public datagram_link {
  public:
    listener_link(std::shared_ptr<listener_impl> l, listener_impl::endpoint_type remote,
                  conversation_io& owner)
        : l_(std::move(l)), remote_(std::move(remote)), owner_(&owner) {}

    void send(std::span<std::byte const> datagram) override {
        l_->send_to(datagram, remote_, *owner_);
    }
    void flush() noexcept override { l_->flush_sends(); }
    void detach() noexcept override { l_->forget(remote_, owner_); }

  private:
    std::shared_ptr<listener_impl> l_;
    listener_impl::endpoint_type remote_;
    conversation_io* owner_;
};

constexpr std::size_t receive_rounds = 4;  ///< batches read before settling

}  // namespace

listener_impl::listener_impl(net::any_io_executor const& ex, endpoint_type const& local,
                             options opts)
    : strand_(net::make_strand(ex)),
      executor_(strand_),
      opts_(std::move(opts)),
      crypt_(make_crypt(opts_)),
      socket_(strand_, local),
      counters_(std::make_unique<counters>()),
      parked_(executor_),
      batch_(std::make_unique<receive_batch>()),
      sends_(std::make_unique<send_batch>()) {
    (void)make_engine_config(opts_, 0);  // refuse bad settings now, not per datagram
    socket_.non_blocking(true);
    if (opts_.socket_buffer > 0) {
        error_code ignored;
        socket_.set_option(net::socket_base::receive_buffer_size(opts_.socket_buffer), ignored);
        socket_.set_option(net::socket_base::send_buffer_size(opts_.socket_buffer), ignored);
    }
}

listener_impl::~listener_impl() = default;

void listener_impl::drop_parked() noexcept {
    accept_.reset();
    table_.clear();
    backlog_.clear();
    touched_.clear();
}

void listener_impl::start() {
    teardown_service::track(executor_, shared_from_this());
    net::dispatch(strand_, [self = shared_from_this()] { self->receive(); });
}

void listener_impl::receive() {
    socket_.async_receive_from(
        net::buffer(buffer_), sender_,
        [self = shared_from_this()](error_code ec, std::size_t n) { self->on_receive(ec, n); });
}

void listener_impl::on_receive(error_code ec, std::size_t n) {
    if (closed_ || ec == net::error::operation_aborted) {
        return;
    }
    if (!ec) {
        route(std::span(buffer_).first(n), sender_);
        // Then what else waits, a batch per system call, before settling once.
        for (std::size_t round = 0; round < receive_rounds && !closed_; ++round) {
            std::size_t const got = batch_->receive(socket_);
            for (std::size_t i = 0; i < got && !closed_; ++i) {
                route(batch_->datagram(i), batch_->sender(i));
            }
            if (got < receive_batch::capacity) {
                break;
            }
        }
    }
    // Other errors (an ICMP report on the shared socket) do not end the listener.
    for (auto& c : touched_) {
        c->settle();
    }
    touched_.clear();
    deliver_accept();
    if (!closed_) {
        receive();
    }
}

void listener_impl::route(std::span<std::byte> datagram, endpoint_type const& from) {
    ++counters_->datagrams_in;
    opened_datagram const o = open_datagram(crypt_.get(), datagram);
    if (!o.ok()) {
        counters_->dropped.too_short += o.too_short ? 1 : 0;
        counters_->dropped.bad_crc += o.bad_crc ? 1 : 0;
        return;
    }
    routing_info const r = peek_routing(o.payload);
    if (auto it = table_.find(from); it != table_.end()) {
        std::shared_ptr<conversation_io> const c = it->second;
        if (!r.conv || *r.conv == c->conv()) {  // parity, or its own conv
            c->on_opened(o.payload);
            touched_.push_back(c);
            return;
        }
        if (r.sn != 0) {
            ++counters_->foreign_conv;
            return;
        }
        ++counters_->replaced;
        c->end(net::error::connection_reset);  // leaves the table through forget
    }
    if (!r.conv) {
        ++counters_->unroutable;
    } else if (backlog_.size() >= backlog_limit) {
        ++counters_->backlog_full;
    } else {
        create(o.payload, *r.conv, from);
    }
}

void listener_impl::create(std::span<std::byte const> payload, std::uint32_t conv,
                           endpoint_type const& from) {
    auto c = conversation_io::create(strand_, opts_, conv, crypt_);
    c->set_link(std::make_unique<listener_link>(shared_from_this(), from, *c));
    table_.emplace(from, c);
    backlog_.push_back(c);
    ++counters_->conversations;
    c->on_opened(payload);
    touched_.push_back(std::move(c));
}

void listener_impl::start_accept() {
    if (closed_) {
        accept_.complete(net::error::operation_aborted, stream(executor_, options{}));
        return;
    }
    deliver_accept();
}

void listener_impl::deliver_accept() {
    while (accept_ && !backlog_.empty()) {
        auto c = std::move(backlog_.front());
        backlog_.pop_front();
        if (!c->ended()) {
            accept_.complete(error_code{}, stream(std::move(c)));
        }
    }
}

void listener_impl::cancel_accept(std::uint64_t serial) {
    if (accept_ && accept_.data().serial == serial) {
        accept_.complete(net::error::operation_aborted, stream(executor_, options{}));
    }
}

void listener_impl::send_to(std::span<std::byte const> datagram, endpoint_type const& to,
                            conversation_io& from) {
    if (sends_->full()) {
        sends_->flush(socket_);
    }
    sends_->add(datagram, &to, from.links().send_dropped);
}

void listener_impl::flush_sends() noexcept {
    sends_->flush(socket_);
}

// Called from inside c->end(): c must outlive that call, so the table's reference is
// released later on the strand.
void listener_impl::forget(endpoint_type const& remote, conversation_io const* c) {
    std::shared_ptr<conversation_io> keep;
    if (auto it = table_.find(remote); it != table_.end() && it->second.get() == c) {
        keep = std::move(it->second);
        table_.erase(it);
    }
    std::erase_if(backlog_, [c](auto const& p) { return p.get() == c; });
    if (keep) {
        net::post(strand_, [keep = std::move(keep)] {});
    }
}

void listener_impl::close() {
    if (closed_) {
        return;
    }
    closed_ = true;
    error_code ignored;
    socket_.close(ignored);
    std::vector<std::shared_ptr<conversation_io>> all;
    for (auto& [remote, c] : table_) {
        all.push_back(c);
    }
    for (auto& c : all) {
        c->end(net::error::operation_aborted);
    }
    backlog_.clear();
    if (accept_) {
        accept_.complete(net::error::operation_aborted, stream(executor_, options{}));
    }
}

listener_stats listener_impl::stats() const {
    listener_stats s = *counters_;
    s.live = table_.size();
    return s;
}

}  // namespace detail

listener::listener(net::any_io_executor ex, endpoint_type const& local, options opts)
    : executor_(std::move(ex)),
      impl_(std::make_shared<detail::listener_impl>(executor_, local, std::move(opts))) {
    impl_->start();
}

listener::listener(listener&&) noexcept = default;

listener& listener::operator=(listener&& other) noexcept {
    if (this != &other) {
        close();
        executor_ = std::move(other.executor_);
        impl_ = std::move(other.impl_);
    }
    return *this;
}

listener::~listener() {
    close();
}

listener::executor_type listener::get_executor() const noexcept {
    return impl_ ? impl_->executor() : executor_;
}

listener::endpoint_type listener::local_endpoint() const {
    return impl_->local_endpoint();
}

void listener::close() noexcept {
    if (auto l = std::move(impl_)) {
        auto const& strand = l->strand();
        net::dispatch(strand, [l] { l->close(); });
    }
}

listener_stats listener::stats() const {
    return impl_ ? impl_->stats() : listener_stats{};
}

}  // namespace smux::kcp
