#ifndef SMUX_TOOLS_BENCH_TLS_CERTIFICATE_HPP
#define SMUX_TOOLS_BENCH_TLS_CERTIFICATE_HPP

// The server's TLS identity, made at start in memory: nothing to install, nothing left on disk.

#include <string>

namespace smux_bench {

/// A private key and its certificate, both PEM.
struct pem_identity {
    std::string key;
    std::string certificate;
};

/** A new ECDSA P-256 key and a self-signed certificate for it (CN "smux-bench", valid from
    one hour ago for 30 days; the client does not check it). Throws std::runtime_error. */
[[nodiscard]] pem_identity make_self_signed_identity();

}  // namespace smux_bench

#endif
