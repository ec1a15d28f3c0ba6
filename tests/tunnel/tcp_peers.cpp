#include "tunnel/tcp_peers.hpp"

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <cstring>
#include <functional>
#include <future>
#include <span>
#include <string_view>
#include <tuple>

namespace tunnel_test {

namespace {

using asio::awaitable;
using asio::ip::tcp;
constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t chunk = 65536;

tcp::endpoint loopback(unsigned short port) {
    return {asio::ip::make_address_v4("127.0.0.1"), port};
}

std::uint64_t splitmix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void fill_pattern(std::uint64_t seed, std::uint64_t offset, std::span<std::uint8_t> out) {
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = pattern_byte(seed, offset + i);
    }
}

std::uint64_t fnv1a(std::uint64_t h, std::span<std::uint8_t const> bytes) {
    for (std::uint8_t b : bytes) {
        h = (h ^ b) * 0x100000001b3ULL;
    }
    return h;
}
constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325ULL;

std::string reply_line(std::uint64_t bytes, std::uint64_t fnv) {
    char hex[20];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv));
    return std::to_string(bytes) + " " + hex + "\n";
}

/// The pattern of `seed` out, in chunks; shuts the write side when `half_close`.
awaitable<std::string> send_pattern(tcp::socket& s, std::uint64_t seed, std::size_t bytes,
                                    bool half_close) {
    std::vector<std::uint8_t> buf(chunk);
    for (std::size_t at = 0; at < bytes;) {
        std::size_t const n = std::min(chunk, bytes - at);
        fill_pattern(seed, at, std::span(buf).first(n));
        auto [ec, w] = co_await asio::async_write(s, asio::buffer(buf.data(), n), as_tuple);
        if (ec) {
            asio::error_code ignored;
            s.close(ignored);  // the reader gives up too
            co_return "write after " + std::to_string(at) + " bytes: " + ec.message();
        }
        at += w;
    }
    if (half_close) {
        asio::error_code ec;
        s.shutdown(tcp::socket::shutdown_send, ec);
    }
    co_return std::string{};
}

/// Reads `bytes` and checks them against the pattern of `seed`.
awaitable<std::string> check_echo(tcp::socket& s, std::uint64_t seed, std::size_t bytes) {
    std::vector<std::uint8_t> got(chunk);
    std::vector<std::uint8_t> want(chunk);
    for (std::size_t at = 0; at < bytes;) {
        std::size_t const room = std::min(chunk, bytes - at);
        auto [ec, n] = co_await s.async_read_some(asio::buffer(got.data(), room), as_tuple);
        if (ec) {
            std::string const what = "read after " + std::to_string(at) + " of " +
                                     std::to_string(bytes) + " bytes: " + ec.message();
            asio::error_code ignored;
            s.close(ignored);  // the writer gives up too
            co_return what;
        }
        fill_pattern(seed, at, std::span(want).first(n));
        if (std::memcmp(got.data(), want.data(), n) != 0) {
            asio::error_code ignored;
            s.close(ignored);  // the writer gives up too
            co_return "wrong bytes between offsets " + std::to_string(at) + " and " +
                std::to_string(at + n);
        }
        at += n;
    }
    co_return std::string{};
}

/// Reads to the end of file.
awaitable<std::string> read_all(tcp::socket& s, std::string& out) {
    std::array<char, 4096> buf{};
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), as_tuple);
        out.append(buf.data(), n);
        if (ec == asio::error::eof) {
            co_return std::string{};
        }
        if (ec) {
            co_return "read after " + std::to_string(out.size()) + " bytes: " + ec.message();
        }
    }
}

awaitable<void> one_client(unsigned short port, std::uint64_t seed, std::size_t bytes,
                           bool half_close, std::vector<std::string>& failures, int& done) {
    using namespace asio::experimental::awaitable_operators;
    tcp::socket s(co_await asio::this_coro::executor);
    std::string const who = "connection " + std::to_string(seed) + ": ";
    if (auto [ec] = co_await s.async_connect(loopback(port), as_tuple); ec) {
        failures.push_back(who + "connect: " + ec.message());
        ++done;
        co_return;
    }
    std::string failure;
    if (!half_close) {
        auto [sent, echoed] =
            co_await (send_pattern(s, seed, bytes, false) && check_echo(s, seed, bytes));
        failure = !sent.empty() ? sent : echoed;
    } else {
        std::string reply;
        auto [sent, received] = co_await (send_pattern(s, seed, bytes, true) && read_all(s, reply));
        std::vector<std::uint8_t> all(bytes);
        fill_pattern(seed, 0, all);
        std::string const want = reply_line(bytes, fnv1a(fnv_offset, all));
        failure = !sent.empty() ? sent : received;
        if (failure.empty() && reply != want) {
            failure = "reply '" + reply + "', expected '" + want + "'";
        }
    }
    if (!failure.empty()) {
        failures.push_back(who + failure);
    }
    ++done;
}

std::vector<std::string> run_clients(unsigned short port, int conns, std::size_t bytes,
                                     bool half_close, milliseconds limit) {
    asio::io_context ioc(1);
    std::vector<std::string> failures;
    int done = 0;
    for (int i = 0; i < conns; ++i) {
        asio::co_spawn(
            ioc,
            one_client(port, static_cast<std::uint64_t>(i) + 1, bytes, half_close, failures, done),
            asio::detached);
    }
    ioc.run_for(limit);
    if (done < conns) {
        failures.push_back(std::to_string(conns - done) + " of " + std::to_string(conns) +
                           " connections not finished after " + std::to_string(limit.count()) +
                           " ms");
    }
    return failures;
}

/// Sends `message` and reads as many bytes back, which must be the same.
awaitable<void> echo_once(tcp::socket& s, std::string message, std::vector<std::string>& failures,
                          std::size_t& done) {
    std::string back(message.size(), '\0');
    char const* step = "write";
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(message), as_tuple);
    if (!ec) {
        step = "read";
        std::tie(ec, n) = co_await asio::async_read(s, asio::buffer(back), as_tuple);
    }
    if (ec) {
        failures.push_back(message + ": " + step + ": " + ec.message());
    } else if (back != message) {
        failures.push_back(message + ": came back as '" + back + "'");
    }
    ++done;
}

/// Shuts the write side, then expects the end of file and nothing before it.
awaitable<void> half_close_once(tcp::socket& s, std::size_t index,
                                std::vector<std::string>& failures, std::size_t& done) {
    asio::error_code ec;
    s.shutdown(tcp::socket::shutdown_send, ec);
    std::string rest;
    std::string failure;
    if (ec) {
        failure = "shutdown: " + ec.message();
    } else {
        failure = co_await read_all(s, rest);
    }
    if (!failure.empty() || !rest.empty()) {
        failures.push_back(
            "connection " + std::to_string(index) + ": " +
            (failure.empty() ? "got '" + rest + "' before the end of file" : failure));
    }
    ++done;
}

// ---- the target

awaitable<void> echo(tcp::socket s) {
    std::vector<char> buf(chunk);
    for (bool first = true;; first = false) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), as_tuple);
        if (first && std::string_view(buf.data(), n).starts_with("RESET")) {
            asio::error_code ignored;
            s.set_option(tcp::socket::linger(true, 0), ignored);  // close() sends RST
            s.close(ignored);
            co_return;
        }
        if (n > 0) {
            auto [wec, w] = co_await asio::async_write(s, asio::buffer(buf.data(), n), as_tuple);
            if (wec) {
                co_return;
            }
        }
        if (ec == asio::error::eof) {
            s.shutdown(tcp::socket::shutdown_send, ec);
            co_return;
        }
        if (ec) {
            co_return;
        }
    }
}

awaitable<void> reply_after_eof(tcp::socket s) {
    std::vector<std::uint8_t> buf(chunk);
    std::uint64_t total = 0;
    std::uint64_t h = fnv_offset;
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), as_tuple);
        h = fnv1a(h, std::span(buf).first(n));
        total += n;
        if (ec == asio::error::eof) {
            break;
        }
        if (ec) {
            co_return;
        }
    }
    std::string const line = reply_line(total, h);
    (void)co_await asio::async_write(s, asio::buffer(line), as_tuple);
}

/// Holds the connection open without ever reading it (until the peer goes or the target
/// ends).
awaitable<void> never_read(tcp::socket s) {
    (void)co_await s.async_wait(tcp::socket::wait_error, as_tuple);
}

awaitable<void> serve(tcp::socket s, target_server::mode m) {
    switch (m) {
        case target_server::mode::echo:
            return echo(std::move(s));
        case target_server::mode::reply_after_eof:
            return reply_after_eof(std::move(s));
        case target_server::mode::never_read:
            break;
    }
    return never_read(std::move(s));
}

awaitable<void> accept_loop(tcp::acceptor& acceptor, target_server::mode m) {
    for (;;) {
        auto [ec, s] = co_await acceptor.async_accept(as_tuple);
        if (ec) {
            co_return;  // closed
        }
        auto const ex = s.get_executor();
        asio::co_spawn(ex, serve(std::move(s), m), asio::detached);
    }
}

}  // namespace

std::uint8_t pattern_byte(std::uint64_t seed, std::uint64_t i) {
    return static_cast<std::uint8_t>(splitmix(seed * 0x1000000000ULL + i / 8) >> (8 * (i % 8)));
}

target_server::target_server(mode m)
    : acceptor_(ioc_, loopback(0)), port_(acceptor_.local_endpoint().port()) {
    asio::co_spawn(ioc_, accept_loop(acceptor_, m), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
}

target_server::~target_server() {
    ioc_.stop();
    thread_.join();
}

void target_server::stop_listening() {
    std::promise<void> closed;
    asio::post(ioc_, [&] {
        asio::error_code ignored;
        acceptor_.close(ignored);
        closed.set_value();
    });
    closed.get_future().wait();
}

std::vector<std::string> echo_through(unsigned short port, int conns, std::size_t bytes,
                                      milliseconds limit) {
    return run_clients(port, conns, bytes, false, limit);
}

std::vector<std::string> half_close_through(unsigned short port, int conns, std::size_t bytes,
                                            milliseconds limit) {
    return run_clients(port, conns, bytes, true, limit);
}

probe_connection::probe_connection(unsigned short port) : socket_(ioc_) {
    socket_.connect(loopback(port));
}

void probe_connection::send(std::string const& message) {
    asio::write(socket_, asio::buffer(message));
}

connection_group::connection_group(unsigned short port, int count) {
    sockets_.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        sockets_.emplace_back(ioc_).connect(loopback(port));
    }
}

std::vector<std::string> connection_group::echo_each(std::string const& tag, milliseconds limit) {
    std::vector<std::string> failures;
    done_ = 0;
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
        asio::co_spawn(ioc_, echo_once(sockets_[i], tag + " " + std::to_string(i), failures, done_),
                       asio::detached);
    }
    return run(failures, limit);
}

std::vector<std::string> connection_group::half_close_each(milliseconds limit) {
    std::vector<std::string> failures;
    done_ = 0;
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
        asio::co_spawn(ioc_, half_close_once(sockets_[i], i, failures, done_), asio::detached);
    }
    return run(failures, limit);
}

std::vector<std::string> connection_group::run(std::vector<std::string>& failures,
                                               milliseconds limit) {
    ioc_.restart();
    ioc_.run_for(limit);
    if (done_ < sockets_.size()) {
        failures.push_back(std::to_string(sockets_.size() - done_) + " of " +
                           std::to_string(sockets_.size()) + " connections not finished after " +
                           std::to_string(limit.count()) + " ms");
        for (auto& s : sockets_) {
            asio::error_code ignored;
            s.cancel(ignored);  // the unfinished steps end now, before `failures` goes
        }
        ioc_.restart();
        ioc_.run();
    }
    return failures;
}

std::string probe_connection::exchange(std::string const& message, milliseconds limit) {
    send(message);
    std::string out(message.size(), '\0');
    bool done = false;
    std::size_t got = 0;
    asio::async_read(socket_, asio::buffer(out), [&](asio::error_code ec, std::size_t n) {
        done = !ec;
        got = n;
    });
    ioc_.restart();
    ioc_.run_for(limit);
    if (!done) {
        socket_.cancel();
        ioc_.restart();
        ioc_.run();
        return {};
    }
    out.resize(got);
    return out;
}

std::string probe_connection::wait_closed(milliseconds limit) {
    std::string result = "open";
    std::array<char, 4096> buf{};
    std::function<void()> read = [&] {
        socket_.async_read_some(asio::buffer(buf), [&](asio::error_code ec, std::size_t) {
            if (!ec) {
                read();
            } else if (result == "open") {
                result = ec == asio::error::eof ? "eof" : "error: " + ec.message();
            }
        });
    };
    read();
    ioc_.restart();
    ioc_.run_for(limit);
    if (result == "open") {
        socket_.cancel();
        ioc_.restart();
        ioc_.run();
        return "open";
    }
    return result;
}

}  // namespace tunnel_test
