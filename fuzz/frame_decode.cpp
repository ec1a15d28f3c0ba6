// Decodes arbitrary bytes as a sequence of frame headers; every header must re-encode to the
// same bytes, and validation must agree with the command table.

#include <cstddef>
#include <cstdint>
#include <smux/core/frame.hpp>

#include "frame_checker.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    auto const* bytes = reinterpret_cast<std::byte const*>(data);
    for (std::size_t at = 0; at + smux::core::header_size <= size; at += smux::core::header_size) {
        std::span<std::byte const, 8> in(bytes + at, 8);
        auto const h = smux::core::decode_header(in);
        auto const again = smux::core::encode_header(h);
        smux::fuzz::check(std::equal(again.begin(), again.end(), in.begin()),
                          "decode/encode round trip");
        for (int version : {1, 2}) {
            auto const ec = smux::core::validate_header(h, version);
            auto const cmd = static_cast<unsigned>(h.cmd);
            bool const should_pass =
                h.version == version &&
                ((cmd <= 1 || cmd == 3) ? h.length == 0
                                        : cmd == 2 || (cmd == 4 && version == 2 && h.length == 8));
            smux::fuzz::check(should_pass == !ec, "validation disagrees with the command table");
        }
    }
    return 0;
}
