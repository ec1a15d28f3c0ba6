#include "json_config.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <variant>

namespace smux_tunnel {

namespace {

using field = std::variant<std::string tunnel_options::*, int tunnel_options::*,
                           bool tunnel_options::*, transport_kind tunnel_options::*>;

enum roles : unsigned { client = 1, server = 2, both = 3 };

struct json_key {
    char const* name;
    field target;
    unsigned roles;
};

// kcptun 20210922's client/config.go and server/config.go, then this tool's own keys.
json_key const keys[] = {
    {"localaddr", &tunnel_options::localaddr, client},
    {"remoteaddr", &tunnel_options::remoteaddr, client},
    {"listen", &tunnel_options::listen, server},
    {"target", &tunnel_options::target, server},
    {"key", &tunnel_options::key, both},
    {"crypt", &tunnel_options::crypt, both},
    {"mode", &tunnel_options::mode, both},
    {"conn", &tunnel_options::conn, client},
    {"autoexpire", &tunnel_options::autoexpire, client},
    {"scavengettl", &tunnel_options::scavengettl, client},
    {"mtu", &tunnel_options::mtu, both},
    {"sndwnd", &tunnel_options::sndwnd, both},
    {"rcvwnd", &tunnel_options::rcvwnd, both},
    {"datashard", &tunnel_options::datashard, both},
    {"parityshard", &tunnel_options::parityshard, both},
    {"dscp", &tunnel_options::dscp, both},
    {"nocomp", &tunnel_options::nocomp, both},
    {"acknodelay", &tunnel_options::acknodelay, both},
    {"nodelay", &tunnel_options::nodelay, both},
    {"interval", &tunnel_options::interval, both},
    {"resend", &tunnel_options::resend, both},
    {"nc", &tunnel_options::nc, both},
    {"sockbuf", &tunnel_options::sockbuf, both},
    {"smuxver", &tunnel_options::smuxver, both},
    {"smuxbuf", &tunnel_options::smuxbuf, both},
    {"streambuf", &tunnel_options::streambuf, both},
    {"keepalive", &tunnel_options::keepalive, both},
    {"log", &tunnel_options::log, both},
    {"snmplog", &tunnel_options::snmplog, both},
    {"snmpperiod", &tunnel_options::snmpperiod, both},
    {"pprof", &tunnel_options::pprof, server},
    {"quiet", &tunnel_options::quiet, both},
    {"tcp", &tunnel_options::tcp, both},
    {"transport", &tunnel_options::transport, both},
    {"tlscert", &tunnel_options::tls_cert, both},
    {"tlskey", &tunnel_options::tls_key, both},
    {"tlsca", &tunnel_options::tls_ca, both},
    {"statusinterval", &tunnel_options::status_interval, both},
};

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

transport_kind parse_transport(std::string const& name, std::string const& where) {
    if (name == "kcp") {
        return transport_kind::kcp;
    }
    if (name == "tcp") {
        return transport_kind::tcp;
    }
    if (name == "tls") {
        return transport_kind::tls;
    }
    throw usage_error(where + ": transport must be kcp, tcp or tls, not '" + name + "'");
}

/// Sets one field from `value`, refusing a value of the wrong JSON type as Go's decoder does.
void assign(tunnel_options& o, field const& f, nlohmann::json const& value,
            std::string const& where) {
    auto wrong = [&](char const* expected) {
        return usage_error(where + ": expected " + expected + ", got " + value.dump());
    };
    if (auto const* s = std::get_if<std::string tunnel_options::*>(&f)) {
        if (!value.is_string()) {
            throw wrong("a string");
        }
        o.*(*s) = value.get<std::string>();
    } else if (auto const* i = std::get_if<int tunnel_options::*>(&f)) {
        if (!value.is_number_integer()) {
            throw wrong("an integer");
        }
        auto const n = value.get<std::int64_t>();
        if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
            throw wrong("an integer in the range of int");
        }
        o.*(*i) = static_cast<int>(n);
    } else if (auto const* b = std::get_if<bool tunnel_options::*>(&f)) {
        if (!value.is_boolean()) {
            throw wrong("true or false");
        }
        o.*(*b) = value.get<bool>();
    } else {
        if (!value.is_string()) {
            throw wrong("a string");
        }
        o.*std::get<transport_kind tunnel_options::*>(f) =
            parse_transport(value.get<std::string>(), where);
    }
}

nlohmann::json read_file(std::string const& path) {
    std::ifstream in(path);
    if (!in) {
        throw usage_error("-c " + path + ": cannot open the file");
    }
    try {
        return nlohmann::json::parse(in);
    } catch (nlohmann::json::parse_error const& e) {
        throw usage_error("-c " + path + ": not valid JSON: " + e.what());
    }
}

}  // namespace

void read_json_config(std::string const& path, tunnel_options& o) {
    nlohmann::json const doc = read_file(path);
    if (!doc.is_object()) {
        throw usage_error("-c " + path + ": expected a JSON object");
    }
    unsigned const mine = o.role == tunnel_role::client ? client : server;
    for (auto const& [name, value] : doc.items()) {
        std::string const key = lower(name);
        auto const* const k = std::find_if(std::begin(keys), std::end(keys),
                                           [&](json_key const& j) { return key == j.name; });
        if (k == std::end(keys) || (k->roles & mine) == 0) {
            o.warnings.push_back("-c " + path + ": key \"" + name + "\" is ignored (" +
                                 (k == std::end(keys) ? "unknown" : "not a setting of this role") +
                                 ", as kcptun ignores it)");
            continue;
        }
        if (value.is_null()) {
            continue;  // Go leaves the field as it was
        }
        assign(o, k->target, value, "-c " + path + ": \"" + name + "\"");
        o.given.insert(k->name);
    }
}

}  // namespace smux_tunnel
