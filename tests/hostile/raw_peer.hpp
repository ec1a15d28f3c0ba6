#ifndef SMUX_TESTS_HOSTILE_RAW_PEER_HPP
#define SMUX_TESTS_HOSTILE_RAW_PEER_HPP

// The attacker: raw frames written over a plain TCP socket on 127.0.0.1, and what it receives
// parsed and checked against the wire contract.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "hostile_watch.hpp"

namespace smux_hostile {

// ---- frames (the builders: support/wire.hpp)

/// `total` bytes of `pattern(seed)` on stream `sid`, cut into PSH frames of `frame_size`.
inline bytes psh_stream(int version, std::uint32_t sid, std::size_t total, std::size_t frame_size,
                        std::uint64_t seed, std::size_t position = 0) {
    bytes out;
    pattern const p(seed);
    for (std::size_t done = 0; done < total;) {
        std::size_t const n = std::min(frame_size, total - done);
        auto const f = psh(version, sid, p.make(position + done, n));
        out.insert(out.end(), f.begin(), f.end());
        done += n;
    }
    return out;
}

// ---- what the attacker receives, parsed and checked

/** The frames a raw peer received, parsed incrementally and checked against the wire contract:
    a server must send only well-formed frames of its session's version, PSH no longer than its
    own max_frame_size. The first violation is recorded in `malformed` and parsing stops. */
struct inbound {
    static std::size_t le16(std::byte const* p) {
        return std::to_integer<std::size_t>(p[0]) | (std::to_integer<std::size_t>(p[1]) << 8U);
    }
    static std::uint32_t le32_at(std::byte const* p) {
        return std::to_integer<std::uint32_t>(p[0]) | (std::to_integer<std::uint32_t>(p[1]) << 8U) |
               (std::to_integer<std::uint32_t>(p[2]) << 16U) |
               (std::to_integer<std::uint32_t>(p[3]) << 24U);
    }

    int version = 1;
    std::size_t max_frame = 65'535;

    bytes pending;
    std::map<std::uint32_t, bytes> data;  ///< PSH payload per stream
    std::map<std::uint32_t, int> fins;    ///< FIN count per stream
    std::vector<std::uint32_t> fin_order;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> updates;  ///< (sid, consumed)
    std::vector<std::uint32_t> syns;
    std::size_t nops = 0;
    std::size_t frames = 0;
    std::size_t largest_psh = 0;
    std::string malformed;

    void feed(std::byte const* p, std::size_t n) {
        if (!malformed.empty()) {
            return;
        }
        pending.insert(pending.end(), p, p + n);
        std::size_t at = 0;
        while (malformed.empty() && pending.size() - at >= 8) {
            std::byte const* h = pending.data() + at;
            int const ver = std::to_integer<int>(h[0]);
            auto const c = std::to_integer<std::uint8_t>(h[1]);
            std::size_t const len = le16(h + 2);
            std::uint32_t const sid = le32_at(h + 4);
            std::ostringstream why;
            if (ver != version) {
                why << "frame version " << ver << " in a version " << version << " session";
            } else if (c > cmd::upd || (c == cmd::upd && version < 2)) {
                why << "command " << static_cast<int>(c);
            } else if ((c == cmd::syn || c == cmd::fin || c == cmd::nop) && len != 0) {
                why << "command " << static_cast<int>(c) << " with length " << len;
            } else if (c == cmd::upd && len != 8) {
                why << "UPD with length " << len;
            } else if (c == cmd::psh && len > max_frame) {
                why << "PSH of " << len << " bytes, above the server's max_frame_size "
                    << max_frame;
            }
            if (!why.str().empty()) {
                malformed = why.str() + " (frame " + std::to_string(frames) + ")";
                break;
            }
            if (pending.size() - at < 8 + len) {
                break;
            }
            std::byte const* payload = h + 8;
            switch (c) {
                case cmd::syn:
                    syns.push_back(sid);
                    break;
                case cmd::fin:
                    ++fins[sid];
                    fin_order.push_back(sid);
                    break;
                case cmd::psh: {
                    auto& d = data[sid];
                    d.insert(d.end(), payload, payload + len);
                    largest_psh = std::max(largest_psh, len);
                    break;
                }
                case cmd::nop:
                    ++nops;
                    break;
                default:
                    updates.emplace_back(sid, le32_at(payload));
                    break;
            }
            ++frames;
            at += 8 + len;
        }
        pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(at));
    }

    [[nodiscard]] std::string data_of(std::uint32_t sid) const {
        auto it = data.find(sid);
        return it == data.end() ? std::string() : to_string(it->second);
    }
    [[nodiscard]] std::size_t size_of(std::uint32_t sid) const {
        auto it = data.find(sid);
        return it == data.end() ? 0 : it->second.size();
    }
    [[nodiscard]] int fin_count(std::uint32_t sid) const {
        auto it = fins.find(sid);
        return it == fins.end() ? 0 : it->second;
    }
};

// ---- the attacker: raw bytes over a plain TCP socket

/** A raw TCP peer on the test's io_context. Writes are queued and chained; reading is optional
    (a peer that never reads never calls `start_reading`). Handlers keep the state alive, so the
    object may go away while operations are pending. */
class raw_peer {
    struct state {
        explicit state(asio::io_context& ioc) : socket(ioc) {}
        tcp::socket socket;
        std::deque<bytes> queue;
        std::size_t front_offset = 0;  ///< bytes of queue.front() already written
        bool writing = false;
        std::uint64_t sent = 0;
        smux::error_code write_error;
        bool reading = false;
        bool read_ended = false;
        smux::error_code read_error;
        std::uint64_t received = 0;
        std::array<std::byte, 64 * 1024> buffer{};
        inbound in;
    };

  public:
    raw_peer(asio::io_context& ioc, int version, std::size_t server_max_frame)
        : s_(std::make_shared<state>(ioc)) {
        s_->in.version = version;
        s_->in.max_frame = server_max_frame;
    }
    raw_peer(raw_peer const&) = delete;
    raw_peer& operator=(raw_peer const&) = delete;
    ~raw_peer() { close(); }

    /// Connects from 127.0.0.1; `receive_buffer` > 0 sets SO_RCVBUF first (a small window).
    ::testing::AssertionResult connect(tcp::endpoint const& ep, int receive_buffer = 0) {
        smux::error_code ec;
        s_->socket.open(tcp::v4(), ec);
        if (!ec && receive_buffer > 0) {
            s_->socket.set_option(asio::socket_base::receive_buffer_size(receive_buffer), ec);
        }
        if (!ec) {
            s_->socket.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), ec);
        }
        if (!ec) {
            s_->socket.connect(ep, ec);
        }
        if (!ec) {
            s_->socket.set_option(tcp::no_delay(true), ec);
        }
        if (ec) {
            return ::testing::AssertionFailure() << "attacker connect: " << ec.message();
        }
        port_ = s_->socket.local_endpoint().port();
        return ::testing::AssertionSuccess();
    }

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

    void send(bytes b) {
        if (b.empty() || s_->write_error) {
            return;
        }
        s_->queue.push_back(std::move(b));
        pump(s_);
    }

    /// Every queued byte was handed to the kernel (or a write failed).
    [[nodiscard]] bool idle() const noexcept { return !s_->writing && s_->queue.empty(); }
    [[nodiscard]] std::uint64_t sent() const noexcept { return s_->sent; }
    [[nodiscard]] smux::error_code write_error() const noexcept { return s_->write_error; }

    void start_reading() {
        if (!s_->reading) {
            s_->reading = true;
            read(s_);
        }
    }
    /// Stops reading (the pending read is cancelled): from now on the kernel buffers
    /// whatever the server sends.
    void stop_reading() {
        s_->reading = false;
        smux::error_code ec;
        s_->socket.cancel(ec);
    }
    /// The server closed the connection (end of file, or a reset).
    [[nodiscard]] bool read_ended() const noexcept { return s_->read_ended; }
    [[nodiscard]] smux::error_code read_error() const noexcept { return s_->read_error; }
    [[nodiscard]] std::uint64_t received() const noexcept { return s_->received; }
    [[nodiscard]] inbound const& in() const noexcept { return s_->in; }

    /// Half-close: the server reads end of file; reading goes on.
    void shutdown_send() {
        smux::error_code ec;
        s_->socket.shutdown(tcp::socket::shutdown_send, ec);
    }

    void close() {
        smux::error_code ec;
        s_->socket.close(ec);
    }

  private:
    // write_some, so that `sent` counts what the kernel took so far.
    static void pump(std::shared_ptr<state> const& s) {
        if (s->writing || s->queue.empty()) {
            return;
        }
        s->writing = true;
        bytes const& front = s->queue.front();
        s->socket.async_write_some(
            asio::buffer(front.data() + s->front_offset, front.size() - s->front_offset),
            [s](smux::error_code ec, std::size_t n) {
                s->writing = false;
                s->sent += n;
                s->front_offset += n;
                if (ec) {
                    s->write_error = ec;
                    s->queue.clear();
                    s->front_offset = 0;
                    return;
                }
                if (s->front_offset == s->queue.front().size()) {
                    s->queue.pop_front();
                    s->front_offset = 0;
                }
                pump(s);
            });
    }

    static void read(std::shared_ptr<state> const& s) {
        s->socket.async_read_some(asio::buffer(s->buffer), [s](smux::error_code ec, std::size_t n) {
            s->received += n;
            s->in.feed(s->buffer.data(), n);
            if (ec == asio::error::operation_aborted && !s->reading) {
                return;  // stop_reading
            }
            if (ec) {
                s->read_ended = true;
                s->read_error = ec;
                return;
            }
            read(s);
        });
    }

    std::shared_ptr<state> s_;
    std::uint16_t port_ = 0;
};

}  // namespace smux_hostile

#endif
