#include "net_util.hpp"

#include <asio/connect.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <stdexcept>
#include <system_error>
#include <variant>

namespace smux_bench {

void run_loop(asio::io_context& ioc, std::chrono::microseconds spin) {
    if (spin.count() == 0) {
        ioc.run();
        return;
    }
    auto last_work = bench_clock::now();
    for (;;) {
        if (ioc.poll() > 0) {
            last_work = bench_clock::now();
            continue;
        }
        if (ioc.stopped()) {
            return;  // stopped, or out of work
        }
        if (bench_clock::now() - last_work < spin) {
            continue;
        }
        if (ioc.run_one() == 0) {
            return;
        }
        last_work = bench_clock::now();
    }
}

host_port split_host_port(std::string const& text) {
    auto const colon = text.rfind(':');
    if (colon == std::string::npos) {
        throw std::invalid_argument("missing port in address '" + text + "'");
    }
    std::string host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    std::string port = text.substr(colon + 1);
    if (port.empty()) {
        throw std::invalid_argument("missing port in address '" + text + "'");
    }
    return {std::move(host), std::move(port)};
}

std::string format_endpoint(tcp::endpoint const& ep) {
    auto const address = ep.address().to_string();
    auto const port = std::to_string(ep.port());
    return ep.address().is_v6() ? "[" + address + "]:" + port : address + ":" + port;
}

tcp::resolver::results_type resolve(asio::io_context& ioc, std::string const& text, bool passive) {
    auto const hp = split_host_port(text);
    tcp::resolver resolver(ioc);
    auto flags = tcp::resolver::numeric_service;
    if (passive) {
        flags |= tcp::resolver::passive;
    }
    asio::error_code ec;
    auto results = resolver.resolve(hp.host, hp.port, flags, ec);
    if (!ec && results.empty()) {
        ec = asio::error::host_not_found;
    }
    if (ec) {
        throw std::system_error(ec, "resolve '" + text + "'");
    }
    return results;
}

void set_no_delay(tcp::socket& s) noexcept {
    asio::error_code ignored;
    s.set_option(tcp::no_delay(true), ignored);
}

asio::awaitable<asio::error_code> dial(tcp::socket& s, tcp::resolver::results_type const& endpoints,
                                       std::optional<bench_clock::duration> timeout) {
    if (!timeout) {
        auto [ec, ep] = co_await asio::async_connect(s, endpoints, as_tuple);
        co_return ec;
    }
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(s.get_executor(), *timeout);
    auto r = co_await (asio::async_connect(s, endpoints, as_tuple) || timer.async_wait(as_tuple));
    if (r.index() == 1) {
        close_stream(s);
        co_return asio::error::timed_out;
    }
    co_return std::get<0>(std::get<0>(r));
}

asio::awaitable<void> sleep_for(bench_clock::duration d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    auto [ec] = co_await timer.async_wait(as_tuple);
    (void)ec;
}

}  // namespace smux_bench
