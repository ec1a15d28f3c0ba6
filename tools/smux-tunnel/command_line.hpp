#ifndef SMUX_TOOLS_TUNNEL_COMMAND_LINE_HPP
#define SMUX_TOOLS_TUNNEL_COMMAND_LINE_HPP

// `smux-tunnel client|server [kcptun's flags]`.

#include "options.hpp"

namespace smux_tunnel {

struct command_line {
    bool run = false;   ///< false: exit with `exit_code` (after --help, --version or an error)
    int exit_code = 0;  ///< 0 after --help or --version, 2 after a bad command line or config
    tunnel_options options;
};

/** Parses argv as kcptun-client (`client`) or kcptun-server (`server`) would, including
    Go's single-dash long flags (`-crypt none`), then reads `-c` JSON over it and validates.
    Errors go to stderr (nothing to stdout), help and version to stdout. */
[[nodiscard]] command_line parse_command_line(int argc, char const* const* argv);

}  // namespace smux_tunnel

#endif
