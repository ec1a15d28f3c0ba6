#include "endpoint.hpp"

#include <charconv>
#include <stdexcept>

namespace smux_echo {

asio::ip::tcp::endpoint parse_endpoint(std::string const& text) {
    auto const colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        throw std::invalid_argument("expected HOST:PORT, got '" + text + "'");
    }
    std::string host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    std::string const port_text = text.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
        throw std::invalid_argument("bad port in '" + text + "'");
    }
    asio::error_code aec;
    auto const address = asio::ip::make_address(host, aec);
    if (aec) {
        throw std::invalid_argument("bad address in '" + text + "' (a numeric address is needed)");
    }
    return {address, static_cast<unsigned short>(port)};
}

std::string format_endpoint(asio::ip::tcp::endpoint const& ep) {
    auto const address = ep.address().to_string();
    auto const port = std::to_string(ep.port());
    return ep.address().is_v6() ? "[" + address + "]:" + port : address + ":" + port;
}

}  // namespace smux_echo
