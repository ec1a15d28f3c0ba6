// The client side of a conversation (kcp-go's DialWithOptions and readLoop) and the handle.

#include "smux/kcp/asio/stream.hpp"

#include "receive_batch.hpp"
#include "send_batch.hpp"
#include "smux/kcp/nonce.hpp"

namespace smux::kcp {

namespace detail {

namespace {

void set_buffers(net::ip::udp::socket& s, int bytes) {
    if (bytes > 0) {
        error_code ignored;  // capped or refused by the kernel: the system's size stays
        s.set_option(net::socket_base::receive_buffer_size(bytes), ignored);
        s.set_option(net::socket_base::send_buffer_size(bytes), ignored);
    }
}

}  // namespace

/** A client's own UDP socket, connected to the remote: the kernel then delivers only that
    peer's datagrams (kcp-go: the first source heard from). Reads run while it is open. */
class client_link final : public datagram_link {
  public:
    explicit client_link(net::ip::udp::socket socket) : socket_(std::move(socket)) {}

    void start(std::shared_ptr<conversation_io> c) { receive(std::move(c)); }

    void send(std::span<std::byte const> datagram) override {
        if (sends_.full()) {
            sends_.flush(socket_);
        }
        sends_.add(datagram, nullptr, owner_->links().send_dropped);
    }

    void flush() noexcept override { sends_.flush(socket_); }

    void detach() noexcept override {
        error_code ignored;
        socket_.close(ignored);
    }

    void set_owner(conversation_io* c) noexcept { owner_ = c; }

  private:
    static constexpr std::size_t rounds = 4;  ///< batches read before settling

    void receive(std::shared_ptr<conversation_io> c) {
        socket_.async_receive(
            net::buffer(buffer_),
            [this, c = std::move(c)](error_code ec, std::size_t n) { on_receive(c, ec, n); });
    }

    void on_receive(std::shared_ptr<conversation_io> const& c, error_code ec, std::size_t n) {
        if (c->ended()) {
            return;
        }
        // An ICMP unreachable from a peer not yet listening: UDP goes on (kcp-go's socket is
        // unconnected and never sees it).
        if (ec == net::error::connection_refused) {
            receive(c);
            return;
        }
        if (ec) {
            c->end(ec);
            return;
        }
        c->on_datagram(std::span(buffer_).first(n));
        // Then what else waits, a batch per system call, before settling once.
        for (std::size_t round = 0; round < rounds && !c->ended(); ++round) {
            std::size_t const got = batch_.receive(socket_);
            for (std::size_t i = 0; i < got && !c->ended(); ++i) {
                c->on_datagram(batch_.datagram(i));
            }
            if (got < receive_batch::capacity) {
                break;
            }
        }
        c->settle();
        if (!c->ended()) {
            receive(c);
        }
    }

    net::ip::udp::socket socket_;
    conversation_io* owner_ = nullptr;
    std::array<std::byte, mtu_limit> buffer_{};  ///< kcp-go reads at most 1500 bytes
    receive_batch batch_;
    send_batch sends_;
};

}  // namespace detail

stream::stream(net::any_io_executor ex, options opts)
    : executor_(std::move(ex)), opts_(std::move(opts)) {}

stream::stream(std::shared_ptr<detail::conversation_io> impl) noexcept
    : executor_(impl->executor()), impl_(std::move(impl)) {}

stream::stream(stream&& other) noexcept = default;

stream& stream::operator=(stream&& other) noexcept {
    if (this != &other) {
        close();
        executor_ = std::move(other.executor_);
        opts_ = std::move(other.opts_);
        impl_ = std::move(other.impl_);
    }
    return *this;
}

stream::~stream() {
    close();
}

stream::executor_type stream::get_executor() const noexcept {
    return impl_ ? impl_->executor() : executor_;
}

void stream::connect(endpoint_type const& remote, error_code& ec) {
    ec = {};
    if (impl_) {
        ec = net::error::already_connected;
        return;
    }
    auto strand = net::make_strand(executor_);
    net::ip::udp::socket socket(strand);
    if (socket.open(remote.protocol(), ec); !ec) {
        socket.connect(remote, ec);
    }
    if (!ec) {
        socket.non_blocking(true, ec);
    }
    if (ec) {
        return;
    }
    detail::set_buffers(socket, opts_.socket_buffer);
    auto c = detail::conversation_io::create(strand, opts_, random_conv(), make_crypt(opts_));
    auto link = std::make_unique<detail::client_link>(std::move(socket));
    link->set_owner(c.get());
    auto* raw = link.get();
    c->set_link(std::move(link));
    net::dispatch(strand, [raw, c] { raw->start(c); });
    impl_ = std::move(c);
}

void stream::close() noexcept {
    if (auto c = std::move(impl_)) {
        auto const& strand = c->strand();
        net::dispatch(strand, [c] { c->end(net::error::operation_aborted, true); });
    }
}

stream_stats stream::stats() const {
    stream_stats s;
    if (impl_) {
        s.conv = impl_->conv();
        s.kcp = impl_->state().kcp().stats();
        s.packets = impl_->state().counters();
        s.send_dropped = impl_->links().send_dropped;
    }
    return s;
}

}  // namespace smux::kcp
