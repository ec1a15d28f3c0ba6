// kcptun's flags to the engine and cipher settings.

#include "smux/kcp/asio/options.hpp"

namespace smux::kcp {

engine_config make_engine_config(options const& opts, std::uint32_t conv) {
    engine_config cfg;
    cfg.conv = conv;
    cfg.mtu = opts.mtu;
    cfg.snd_wnd = opts.snd_wnd;
    cfg.rcv_wnd = opts.rcv_wnd;
    cfg.stream = opts.stream_mode;
    cfg.ack_nodelay = opts.ack_nodelay;
    apply_mode(cfg, opts.mode);
    if (auto why = validate(cfg); !why.empty()) {
        throw engine_config_error(why);
    }
    return cfg;
}

std::shared_ptr<block_crypt> make_crypt(options const& opts) {
    if (opts.crypt.empty()) {
        return nullptr;
    }
    return block_crypt::make(opts.crypt, derive_key(opts.key));
}

}  // namespace smux::kcp
