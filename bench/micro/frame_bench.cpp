// Frame header encoding, decoding and validation: the per-frame fixed cost.

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <smux/core/frame.hpp>
#include <vector>

namespace {

using smux::core::command;
using smux::core::frame_header;

void encode_header(benchmark::State& state) {
    std::array<std::byte, smux::core::header_size> out{};
    frame_header h{2, command::psh, 32768, 3};
    for (auto _ : state) {
        smux::core::encode_header(h, out);
        benchmark::DoNotOptimize(out);
        ++h.sid;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(encode_header);

void decode_and_validate_header(benchmark::State& state) {
    std::vector<std::array<std::byte, smux::core::header_size>> headers(1024);
    for (std::size_t i = 0; i < headers.size(); ++i) {
        smux::core::encode_header(
            {2, static_cast<command>(i % 5), static_cast<std::uint16_t>(i % 5 == 4 ? 8 : 0),
             static_cast<std::uint32_t>(i)},
            headers[i]);
    }
    std::size_t i = 0;
    for (auto _ : state) {
        auto const h = smux::core::decode_header(headers[i++ & 1023]);
        benchmark::DoNotOptimize(smux::core::validate_header(h, 2));
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(decode_and_validate_header);

}  // namespace
