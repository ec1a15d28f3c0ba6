#ifndef SMUX_EXAMPLES_ECHO_CLIENT_HPP
#define SMUX_EXAMPLES_ECHO_CLIENT_HPP

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <ostream>
#include <smux/config.hpp>

namespace smux_echo {

/// Opens `streams` streams at once over one session, sends each a distinct message, half-closes
/// it, and prints each reply to `out`. Returns the number of streams whose reply differed.
asio::awaitable<int> run_echo_client(asio::ip::tcp::endpoint server, int streams, smux::config cfg,
                                     std::ostream& out);

}  // namespace smux_echo

#endif
