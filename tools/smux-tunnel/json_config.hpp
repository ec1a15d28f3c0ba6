#ifndef SMUX_TOOLS_TUNNEL_JSON_CONFIG_HPP
#define SMUX_TOOLS_TUNNEL_JSON_CONFIG_HPP

// kcptun's `-c file.json`: a JSON object whose keys override the command line.

#include <string>

#include "options.hpp"

namespace smux_tunnel {

/** Reads `path` over `o` as kcptun's parseJSONConfig does (Go's encoding/json: keys matched
    case-insensitively, null leaves a value alone, a value of the wrong type is an error).
    Keys of kcptun's other role, and keys kcptun does not know, are warnings (kcptun ignores
    them); keys this tool adds: "transport", "tlscert", "tlskey", "tlsca".
    @throws usage_error naming the file and the key. */
void read_json_config(std::string const& path, tunnel_options& o);

}  // namespace smux_tunnel

#endif
