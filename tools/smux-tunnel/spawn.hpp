#ifndef SMUX_TOOLS_TUNNEL_SPAWN_HPP
#define SMUX_TOOLS_TUNNEL_SPAWN_HPP

// co_spawn for the tool's detached tasks: an exception that escapes one is logged (asio's
// `detached` would drop it without a word) and ends that task only.

#include <asio/co_spawn.hpp>
#include <exception>
#include <string>
#include <utility>

#include "logger.hpp"

namespace smux_tunnel {

template <class Executor>
void spawn_logged(Executor const& ex, asio::awaitable<void> task, logger& log, char const* what) {
    asio::co_spawn(ex, std::move(task), [&log, what](std::exception_ptr e) {
        if (!e) {
            return;
        }
        try {
            std::rethrow_exception(e);
        } catch (std::exception const& failure) {
            log.error(std::string(what) + ": " + failure.what());
        }
    });
}

}  // namespace smux_tunnel

#endif
