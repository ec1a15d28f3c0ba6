#ifndef SMUX_KCP_ASIO_OPTIONS_HPP
#define SMUX_KCP_ASIO_OPTIONS_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "smux/kcp/asio/export.hpp"
#include "smux/kcp/crypt.hpp"
#include "smux/kcp/engine.hpp"

namespace smux::kcp {

/** The settings of a KCP conversation as kcptun's flags name them (KCP.md §4, §5). Defaults
    are a kcptun client's: aes with the default key, FEC 10/3, mtu 1350, windows 128/512,
    mode fast, stream mode. Both ends must agree on `crypt`, `key` (and compression, a layer
    above); the rest may differ. */
struct options {
    /// kcptun's `--crypt` (see `block_crypt::make`); empty: no crypt header at all (kcp-go
    /// with a nil BlockCrypt, never kcptun).
    std::string crypt = "aes";
    /// kcptun's `--key`, turned into the cipher key by `derive_key`.
    std::string key = std::string(default_password);
    std::size_t data_shards = 10;  ///< 0 turns FEC off for what this side sends
    /// kcptun's `--parityshard`; 0 turns FEC off for what this side sends
    std::size_t parity_shards = 3;
    std::size_t mtu = 1350;  ///< whole UDP payload, 50..1500
    /// kcptun's `--sndwnd`, in segments
    std::uint32_t snd_wnd = 128;
    /// kcptun's `--rcvwnd`, in segments (1..65535)
    std::uint32_t rcv_wnd = 512;
    /// kcptun's `--mode` preset (normal, fast, fast2, fast3)
    kcp::mode mode = kcp::mode::fast;
    /// kcptun's `--acknodelay`: ACKs go out at once instead of with the next flush
    bool ack_nodelay = false;
    /// KCP stream mode (kcptun always sets it): writes fill the last unsent segment
    bool stream_mode = true;
    /// SO_SNDBUF and SO_RCVBUF (kcptun `--sockbuf`); 0 keeps the system's. The kernel may
    /// cap it (net.core.rmem_max); a refusal is ignored.
    int socket_buffer = 4194304;
    /// A conversation that received no valid datagram for this long ends with
    /// `asio::error::timed_out` (and leaves its listener); zero: never. kcp-go has no such
    /// timer (kcptun relies on smux keep-alive).
    std::chrono::milliseconds idle_timeout{0};
};

/// The engine settings `opts` stand for, for conversation `conv`.
/// @throws engine_config_error naming the field that is out of range.
[[nodiscard]] SMUX_KCP_ASIO_EXPORT engine_config make_engine_config(options const& opts,
                                                                    std::uint32_t conv);

/// The cipher of `opts`, or null when `opts.crypt` is empty.
/// @throws unsupported_cipher for a cipher this build cannot serve.
[[nodiscard]] SMUX_KCP_ASIO_EXPORT std::shared_ptr<block_crypt> make_crypt(options const& opts);

}  // namespace smux::kcp

#endif
