#include "impairment.hpp"

#include <algorithm>

namespace udp_relay {

namespace {

clock::duration from_ms(double ms) {
    return std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double, std::milli>(ms));
}

}  // namespace

verdict impairer::judge(std::size_t bytes, clock::time_point now) {
    // Always five draws, in this order: the decisions of datagram k depend only on the seed
    // and k, not on which earlier datagrams were dropped.
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    double const lost = unit(rng_);
    double const dup = unit(rng_);
    double const held = unit(rng_);
    double const jitter[2] = {unit(rng_), unit(rng_)};

    verdict v;
    if (lost < cfg_.loss) {
        return v;
    }
    v.copies = dup < cfg_.duplicate ? 2 : 1;
    v.reordered = held < cfg_.reorder;
    for (int i = 0; i < v.copies; ++i) {
        double ms = cfg_.delay_ms + jitter[i] * cfg_.jitter_ms;
        if (v.reordered) {
            ms += cfg_.reorder_ms;
        }
        v.at[i] = serialise(bytes, now) + from_ms(ms);
    }
    return v;
}

clock::time_point impairer::serialise(std::size_t bytes, clock::time_point now) {
    if (cfg_.rate <= 0) {
        return now;
    }
    // A link that sends one datagram at a time: a datagram waits for the ones before it.
    link_free_ =
        std::max(now, link_free_) + from_ms(1000.0 * static_cast<double>(bytes) / cfg_.rate);
    return link_free_;
}

}  // namespace udp_relay
