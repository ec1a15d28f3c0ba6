#include "address.hpp"

#include <sys/socket.h>

#include <asio/ip/address.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <charconv>
#include <cstring>

#include "options.hpp"

namespace smux_tunnel {

std::optional<host_port> split_host_port(std::string const& text, char const* flag) {
    auto const colon = text.rfind(':');
    if (colon == std::string::npos) {
        return std::nullopt;
    }
    std::string host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string::npos) {
        return std::nullopt;  // an IPv6 address needs brackets, as in Go
    }
    std::string const port_text = text.substr(colon + 1);
    unsigned port = 0;
    auto const* const end = port_text.data() + port_text.size();
    auto const [at, ec] = std::from_chars(port_text.data(), end, port);
    if (port_text.empty() || ec != std::errc{} || at != end || port > 65535) {
        throw usage_error(std::string(flag) + ": bad port in '" + text +
                          "' (a number in 0..65535 is needed)");
    }
    return host_port{std::move(host), static_cast<unsigned short>(port)};
}

std::string to_string(asio::ip::tcp::endpoint const& ep) {
    auto const address = ep.address().to_string();
    auto const port = std::to_string(ep.port());
    return ep.address().is_v6() ? "[" + address + "]:" + port : address + ":" + port;
}

std::string to_string(asio::ip::udp::endpoint const& ep) {
    return to_string(asio::ip::tcp::endpoint(ep.address(), ep.port()));
}

std::string to_string(local_endpoint const& ep) {
    int const family = ep.data()->sa_family;
    if (family == AF_INET || family == AF_INET6) {
        asio::ip::tcp::endpoint ip;
        std::memcpy(ip.data(), ep.data(), ep.size());
        return to_string(ip);
    }
    if (family == AF_UNIX) {
        asio::local::stream_protocol::endpoint local;
        std::memcpy(local.data(), ep.data(), ep.size());
        local.resize(ep.size());
        return local.path();
    }
    return "(address family " + std::to_string(family) + ")";
}

namespace {

template <class Protocol>
asio::awaitable<std::vector<typename Protocol::endpoint>> resolve(host_port hp) {
    std::vector<typename Protocol::endpoint> out;
    if (hp.host.empty()) {
        // Go's ":port": every address, dual-stack where IPv6 exists (Linux's default
        // bindv6only=0), else IPv4 only; callers try them in order.
        out.emplace_back(Protocol::v6(), hp.port);
        out.emplace_back(Protocol::v4(), hp.port);
        co_return out;
    }
    asio::error_code ec;
    auto const numeric = asio::ip::make_address(hp.host, ec);
    if (!ec) {
        out.emplace_back(numeric, hp.port);
        co_return out;
    }
    typename Protocol::resolver resolver(co_await asio::this_coro::executor);
    auto const results =
        co_await resolver.async_resolve(hp.host, std::to_string(hp.port), asio::use_awaitable);
    for (auto const& r : results) {
        out.push_back(r.endpoint());
    }
    co_return out;
}

}  // namespace

asio::awaitable<std::vector<asio::ip::tcp::endpoint>> resolve_tcp(host_port hp) {
    return resolve<asio::ip::tcp>(std::move(hp));
}

asio::awaitable<std::vector<asio::ip::udp::endpoint>> resolve_udp(host_port hp) {
    return resolve<asio::ip::udp>(std::move(hp));
}

asio::awaitable<std::vector<local_endpoint>> resolve_target(std::string target) {
    std::vector<local_endpoint> out;
    auto hp = split_host_port(target, "--target");
    if (!hp) {
        out.emplace_back(asio::local::stream_protocol::endpoint(target));
        co_return out;
    }
    if (hp->host.empty()) {
        hp->host = "127.0.0.1";  // Go dials the local system for an empty host
    }
    for (auto const& ep : co_await resolve_tcp(std::move(*hp))) {
        out.emplace_back(ep);
    }
    co_return out;
}

}  // namespace smux_tunnel
