#include "command_server.hpp"

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <sstream>

namespace interop {

namespace {

/// Completion of the server's detached coroutines: an escaped exception is reported, not
/// rethrown into io_context::run.
void report(std::exception_ptr e) {
    if (!e) {
        return;
    }
    try {
        std::rethrow_exception(e);
    } catch (std::exception const& x) {
        std::fprintf(stderr, "interop server: coroutine failed: %s\n", x.what());
    }
}

std::vector<std::string> split(std::string const& line) {
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string w; in >> w;) {
        out.push_back(w);
    }
    if (out.empty()) {
        out.emplace_back();
    }
    return out;
}

std::uint64_t arg_u64(std::vector<std::string> const& a, std::size_t i) {
    if (i >= a.size()) {
        throw scenario_error(a[0] + ": argument " + std::to_string(i) + " missing");
    }
    try {
        std::size_t used = 0;
        std::uint64_t const v = std::stoull(a[i], &used);
        if (used != a[i].size()) {
            throw std::invalid_argument(a[i]);
        }
        return v;
    } catch (std::exception const&) {
        throw scenario_error(a[0] + ": bad argument \"" + a[i] + "\"");
    }
}

std::vector<std::size_t> parse_sizes(std::string const& list) {
    std::vector<std::size_t> out;
    std::istringstream in(list);
    for (std::string item; std::getline(in, item, ',');) {
        if (!item.empty()) {
            out.push_back(std::stoull(item));
        }
    }
    return out;
}

}  // namespace

struct command_server::session_entry {
    std::size_t index = 0;
    std::shared_ptr<smux::tcp_session> session;
};

command_server::command_server(smux::config cfg)
    : cfg_(cfg), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_finished_ = thread_done_.get_future();
    asio::co_spawn(ioc_, accept_loop(), report);
    thread_ = std::thread([this] {
        try {
            ioc_.run();
        } catch (std::exception const& e) {
            std::fprintf(stderr, "interop server: io_context failed: %s\n", e.what());
        }
        thread_done_.set_value();
    });
}

command_server::~command_server() {
    stop();
}

void command_server::stop() {
    if (stopped_) {
        return;
    }
    stopped_ = true;
    asio::post(ioc_, [this] {
        asio::error_code ignored;
        acceptor_.close(ignored);
        for (auto& w : live_) {
            if (auto e = w.lock()) {
                e->session->close();
            }
        }
        for (auto& [key, timer] : releases_) {
            timer->cancel();
        }
    });
    // Everything ends once the sessions are closed; a stuck coroutine must not hang the test.
    if (thread_finished_.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
        std::fprintf(stderr, "interop server: still busy 10 s after stop, stopping the loop\n");
        ioc_.stop();
    }
    thread_.join();
}

std::vector<session_outcome> command_server::sessions() const {
    std::lock_guard lock(mu_);
    return sessions_;
}

std::vector<stream_outcome> command_server::streams(std::string const& verb) const {
    std::lock_guard lock(mu_);
    std::vector<stream_outcome> out;
    for (auto const& s : streams_) {
        if (split(s.command)[0] == verb) {
            out.push_back(s);
        }
    }
    return out;
}

std::vector<stream_outcome> command_server::streams_all() const {
    std::lock_guard lock(mu_);
    return streams_;
}

bool command_server::wait_sessions_ended(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
        std::size_t ended = 0;
        for (auto const& s : sessions_) {
            ended += s.ended ? 1 : 0;
        }
        return ended >= n;
    });
}

bool command_server::wait_streams(std::string const& verb, std::size_t n,
                                  std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
        std::size_t found = 0;
        for (auto const& s : streams_) {
            found += split(s.command)[0] == verb ? 1 : 0;
        }
        return found >= n;
    });
}

void command_server::record(stream_outcome o) {
    {
        std::lock_guard lock(mu_);
        streams_.push_back(std::move(o));
    }
    cv_.notify_all();
}

asio::awaitable<void> command_server::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(as_tuple);
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
                co_return;
            }
            continue;
        }
        socket.set_option(asio::ip::tcp::no_delay(true), ec);
        auto e = std::make_shared<session_entry>();
        {
            std::lock_guard lock(mu_);
            e->index = sessions_.size();
            sessions_.emplace_back();
        }
        e->session =
            std::make_shared<smux::tcp_session>(smux::role::server, std::move(socket), cfg_);
        live_.push_back(e);
        asio::co_spawn(ioc_, serve(e), report);
    }
}

asio::awaitable<void> command_server::serve(std::shared_ptr<session_entry> e) {
    asio::co_spawn(
        ioc_,
        [this, e]() -> asio::awaitable<void> {
            auto [ec] = co_await e->session->async_wait_closed(as_tuple);
            {
                std::lock_guard lock(mu_);
                auto& out = sessions_[e->index];
                out.ended = true;
                out.terminal = ec;
                out.stats = e->session->stats();
            }
            cv_.notify_all();
        },
        report);
    for (;;) {
        auto [ec, s] = co_await e->session->async_accept_stream(as_tuple);
        if (ec) {
            co_return;
        }
        asio::co_spawn(ioc_, handle(e, std::move(s)), report);
    }
}

std::shared_ptr<asio::steady_timer> command_server::release_timer(std::string const& key) {
    auto& t = releases_[key];
    if (!t) {
        t = std::make_shared<asio::steady_timer>(ioc_, asio::steady_timer::time_point::max());
    }
    return t;
}

asio::awaitable<void> command_server::handle(std::shared_ptr<session_entry> e, smux::stream s) {
    stream_outcome out;
    stream_reader r(s);
    try {
        out.command = co_await r.line();
        co_await run_command(*e, s, r, split(out.command), out);
    } catch (std::exception const& x) {
        out.ok = false;
        out.detail = x.what();
    }
    if (!out.ok && out.detail.empty()) {
        out.detail = "failed";
    }
    s.close();
    record(std::move(out));
}

asio::awaitable<void> command_server::run_command(session_entry& e, smux::stream& s,
                                                  stream_reader& r,
                                                  std::vector<std::string> const& a,
                                                  stream_outcome& out) {
    std::string const& verb = a[0];
    if (verb == "echo") {
        std::vector<std::byte> buf(64 * 1024);
        for (;;) {
            auto [ec, n] = co_await r.some(buf);
            if (n > 0) {
                auto [wec, written] =
                    co_await asio::async_write(s, asio::buffer(buf.data(), n), as_tuple);
                if (wec) {
                    out.write_error = wec;
                    out.detail = "echo write: " + describe(wec);
                    co_return;
                }
            }
            if (ec == asio::error::eof) {
                break;
            }
            if (ec) {
                out.detail = "echo read: " + describe(ec);
                co_return;
            }
        }
        out.ok = true;
    } else if (verb == "sink") {
        std::uint64_t const n = arg_u64(a, 1);
        digest d;
        std::vector<std::byte> buf(64 * 1024);
        while (d.size() < n) {
            std::size_t const want = std::min<std::uint64_t>(buf.size(), n - d.size());
            co_await r.exact(std::span(buf.data(), want));
            d.update(std::span(buf.data(), want));
        }
        out.received = d.size();
        out.received_sha = d.hex();
        co_await write_text(s, d.line() + "\n");
        out.ok = true;
    } else if (verb == "gen") {
        std::uint64_t const n = arg_u64(a, 1);
        generator g(arg_u64(a, 2));
        std::size_t const w = a.size() > 3 ? arg_u64(a, 3) : 64 * 1024;
        std::vector<std::byte> buf(w);
        for (std::uint64_t left = n; left > 0;) {
            std::size_t const c = std::min<std::uint64_t>(w, left);
            g.fill(std::span(buf.data(), c));
            co_await write_all(s, std::span(buf.data(), c));
            left -= c;
        }
        out.ok = true;
    } else if (verb == "sizes") {
        generator g(arg_u64(a, 1));
        if (a.size() < 3) {
            throw scenario_error("sizes: size list missing");
        }
        for (std::size_t n : parse_sizes(a[2])) {
            auto bytes = g.bytes(n);
            co_await write_all(s, bytes);  // one write per size
        }
        out.ok = true;
    } else if (verb == "halfclose") {
        // The peer sent its request and FIN; the reply goes out after that FIN.
        std::uint64_t const n = arg_u64(a, 1);
        generator g(arg_u64(a, 2));
        digest d;
        co_await r.to_eof(d);
        out.received = d.size();
        out.received_sha = d.hex();
        std::string const line = d.line() + "\n";
        std::vector<std::byte> reply(line.size() + n);
        std::memcpy(reply.data(), line.data(), line.size());
        g.fill(std::span(reply).subspan(line.size()));
        auto [ec, written] =
            co_await asio::async_write(s, asio::buffer(reply.data(), reply.size()), as_tuple);
        out.write_error = ec;
        out.ok = !ec;
        if (ec) {
            out.detail = "reply after the peer's FIN: " + describe(ec) + " after " +
                         std::to_string(written) + " bytes";
        }
    } else if (verb == "finfirst") {
        // Send FIN first, then receive everything the peer sends after it.
        std::uint64_t const m = arg_u64(a, 1);
        std::uint64_t const seed = arg_u64(a, 2);
        co_await write_text(s, "ok\n");
        s.shutdown_send();
        digest d;
        co_await r.to_eof(d);
        out.received = d.size();
        out.received_sha = d.hex();
        digest want;
        auto bytes = generator(seed).bytes(m);
        want.update(bytes);
        out.ok = d.size() == m && d.hex() == want.hex();
        if (!out.ok) {
            out.detail = "received " + d.line() + " after our FIN, expected " + want.line();
        }
    } else if (verb == "slow") {
        std::uint64_t const n = arg_u64(a, 1);
        if (a.size() < 3) {
            throw scenario_error("slow: key missing");
        }
        std::string const key = a[2];
        if (!released_[key]) {
            auto t = release_timer(key);
            t->expires_after(std::chrono::seconds(60));
            co_await t->async_wait(as_tuple);
            if (!released_[key]) {
                throw scenario_error("slow: not released within 60 s");
            }
        }
        digest d;
        std::vector<std::byte> buf(16 * 1024);
        while (d.size() < n) {
            std::size_t const want = std::min<std::uint64_t>(buf.size(), n - d.size());
            co_await r.exact(std::span(buf.data(), want));
            d.update(std::span(buf.data(), want));
            // allowed-sleep: a slow reader is the command (the peer's window must fill)
            co_await sleep_for(std::chrono::milliseconds(2));
        }
        out.received = d.size();
        out.received_sha = d.hex();
        co_await write_text(s, d.line() + "\n");
        out.ok = true;
    } else if (verb == "release") {
        if (a.size() < 2) {
            throw scenario_error("release: key missing");
        }
        released_[a[1]] = true;
        release_timer(a[1])->cancel();
        co_await write_text(s, "ok\n");
        out.ok = true;
    } else if (verb == "hold") {
        auto [ec] = co_await e.session->async_wait_closed(as_tuple);
        out.ok = true;
        out.detail = "session ended: " + describe(ec);
    } else if (verb == "close-session") {
        if (a.size() > 1) {
            // allowed-sleep: the command asks for a delayed close
            co_await sleep_for(std::chrono::milliseconds(arg_u64(a, 1)));
        }
        e.session->close();
        out.ok = true;
    } else if (verb == "stats") {
        co_await write_text(s, "streams " + std::to_string(e.session->stats().streams_open) + "\n");
        out.ok = true;
    } else {
        // "silent" needs a transport that can be frozen: only the Go server has it.
        out.detail = "unsupported command";
        co_await write_text(s, "error unsupported command \"" + verb + "\"\n");
    }
}

}  // namespace interop
