#include "relay.hpp"

#include <sstream>

namespace udp_relay {

using asio::ip::udp;

namespace {

constexpr std::size_t max_datagram = 65'536;

void write_direction(std::ostream& os, direction_stats const& s, std::size_t held) {
    os << R"({"in":)" << s.in << R"(,"out":)" << s.out << R"(,"dropped":)" << s.dropped
       << R"(,"duplicated":)" << s.duplicated << R"(,"reordered":)" << s.reordered
       << R"(,"overflow":)" << s.overflow << R"(,"send_errors":)" << s.send_errors << R"(,"held":)"
       << held << '}';
}

/// --sockbuf; a size the kernel refuses or caps leaves what it allows.
void set_buffers(udp::socket& s, int bytes) {
    if (bytes > 0) {
        asio::error_code ignored;
        s.set_option(asio::socket_base::receive_buffer_size(bytes), ignored);
        s.set_option(asio::socket_base::send_buffer_size(bytes), ignored);
    }
}

}  // namespace

relay::relay(asio::io_context& ioc, relay_options const& opts)
    : ioc_(ioc),
      opts_(opts),
      listen_(ioc, opts.listen),
      buf_(max_datagram),
      // Distinct streams per direction: the up decisions do not depend on the replies.
      impair_{impairer(opts.dir[up], opts.seed), impairer(opts.dir[down], ~opts.seed)},
      queue_(ioc, opts.queue_limit, opts.queue_bytes,
             [this](held_datagram& d) { send_now(d.direction, *d.socket, d.to, d.bytes); }) {
    listen_.non_blocking(true);
    set_buffers(listen_, opts.socket_buffer);
}

udp::endpoint relay::local_endpoint() const {
    return listen_.local_endpoint();
}

void relay::start() {
    receive_from_clients();
}

// Readiness waits, then non-blocking reads until the socket is empty: no datagram ever sits
// in a completed-but-unhandled receive, so drain() right after a signal sees them all.
void relay::receive_from_clients() {
    listen_.async_wait(udp::socket::wait_read, [this](asio::error_code ec) {
        if (ec != asio::error::operation_aborted) {
            read_clients();
            receive_from_clients();
        }
    });
}

void relay::receive_from_upstream(client& c) {
    c.upstream.async_wait(udp::socket::wait_read, [this, &c](asio::error_code ec) {
        if (ec != asio::error::operation_aborted) {
            read_upstream(c);
            receive_from_upstream(c);
        }
    });
}

void relay::read_clients() {
    udp::endpoint from;
    asio::error_code ec;
    for (;;) {
        std::size_t const n = listen_.receive_from(asio::buffer(buf_), from, 0, ec);
        if (ec == asio::error::would_block) {
            return;
        }
        if (!ec) {  // other errors (an ICMP error reported late): skip that datagram
            from_client(from, std::span(buf_).first(n));
        }
    }
}

void relay::read_upstream(client& c) {
    udp::endpoint from;
    asio::error_code ec;
    for (;;) {
        std::size_t const n = c.upstream.receive_from(asio::buffer(buf_), from, 0, ec);
        if (ec == asio::error::would_block) {
            return;
        }
        if (!ec) {
            from_upstream(c, from, std::span(buf_).first(n));
        }
    }
}

void relay::drain() {
    read_clients();
    for (auto& [peer, c] : clients_) {
        read_upstream(*c);
    }
}

relay::client* relay::client_for(udp::endpoint const& peer) {
    if (auto it = clients_.find(peer); it != clients_.end()) {
        return it->second.get();
    }
    if (clients_.size() >= opts_.max_clients) {
        ++clients_refused_;  // counts the datagrams of endpoints beyond --max-clients
        return nullptr;
    }
    // Bound to the wildcard address of the upstream's family, on a port of the kernel's
    // choice: that port is how the upstream tells this client from the others.
    auto const family = opts_.upstream.protocol();
    auto c = std::make_unique<client>(client{peer, udp::socket(ioc_, udp::endpoint(family, 0))});
    c->upstream.non_blocking(true);
    set_buffers(c->upstream, opts_.socket_buffer);
    auto* raw = c.get();
    clients_.emplace(peer, std::move(c));
    receive_from_upstream(*raw);
    return raw;
}

void relay::from_client(udp::endpoint const& peer, std::span<std::byte const> bytes) {
    ++stats_[up].in;
    if (auto* c = client_for(peer)) {
        forward(up, c->upstream, opts_.upstream, bytes);
    }
}

void relay::from_upstream(client& c, udp::endpoint const& from, std::span<std::byte const> bytes) {
    if (from != opts_.upstream) {
        return;  // not the server's: a stray datagram is nobody's reply
    }
    ++stats_[down].in;
    forward(down, listen_, c.peer, bytes);
}

void relay::forward(int direction, udp::socket& socket, udp::endpoint const& to,
                    std::span<std::byte const> bytes) {
    auto& s = stats_[direction];
    auto const now = clock::now();
    auto const v = impair_[direction].judge(bytes.size(), now);
    if (v.copies == 0) {
        ++s.dropped;
        return;
    }
    s.duplicated += static_cast<std::uint64_t>(v.copies - 1);
    s.reordered += v.reordered ? 1U : 0U;
    for (int i = 0; i < v.copies; ++i) {
        if (impair_[direction].config().immediate()) {
            send_now(direction, socket, to, bytes);
        } else if (!queue_.push(
                       v.at[i],
                       held_datagram{direction, &socket, to, {bytes.begin(), bytes.end()}})) {
            ++s.overflow;
        }
    }
}

void relay::send_now(int direction, udp::socket& socket, udp::endpoint const& to,
                     std::span<std::byte const> bytes) {
    asio::error_code ec;
    socket.send_to(asio::buffer(bytes.data(), bytes.size()), to, 0, ec);
    ++(ec ? stats_[direction].send_errors : stats_[direction].out);
}

std::string relay::stats_json(bool final) const {
    std::ostringstream os;
    os << R"({"up":)";
    write_direction(os, stats_[up], queue_.held(up));
    os << R"(,"down":)";
    write_direction(os, stats_[down], queue_.held(down));
    os << R"(,"clients":)" << clients_.size() << R"(,"clients_refused":)" << clients_refused_
       << R"(,"final":)" << (final ? "true" : "false") << '}';
    return os.str();
}

}  // namespace udp_relay
