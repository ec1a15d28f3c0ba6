#include "status_line.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdio>

#include "spawn.hpp"

namespace smux_tunnel {

namespace {

/// "812 B", "1.5 KiB", "64.0 MiB", "2.3 GiB".
std::string bytes_text(double bytes) {
    char const* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    while (bytes >= 1024 && unit < 4) {
        bytes /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
    return text;
}

std::string amount_and_rate(std::uint64_t now, std::uint64_t before, double seconds) {
    double const delta = now >= before ? static_cast<double>(now - before) : 0.0;
    double const rate = seconds > 0 ? delta / seconds : 0.0;
    return bytes_text(static_cast<double>(now)) + " (" + bytes_text(rate) + "/s)";
}

}  // namespace

std::string format_status(status_sample const& now, status_sample const& before, double seconds) {
    std::string line = "status: sessions " + std::to_string(now.sessions) + ", streams " +
                       std::to_string(now.streams) + ", sent " +
                       amount_and_rate(now.sent, before.sent, seconds) + ", received " +
                       amount_and_rate(now.received, before.received, seconds);
    if (now.link) {
        line += ", retransmits " + std::to_string(now.link->retransmits) + ", fec recovered " +
                std::to_string(now.link->fec_recovered);
    }
    return line;
}

status_reporter::status_reporter(asio::any_io_executor ex, std::chrono::seconds interval,
                                 std::function<status_sample()> sample, logger& log)
    : interval_(interval), sample_(std::move(sample)), log_(log), timer_(std::move(ex)) {}

void status_reporter::start() {
    if (interval_.count() > 0) {
        spawn_logged(timer_.get_executor(), run(), log_, "status line");
    }
}

void status_reporter::stop() {
    stopped_ = true;
    timer_.cancel();
}

asio::awaitable<void> status_reporter::run() {
    using clock = std::chrono::steady_clock;
    status_sample before = sample_();
    auto since = clock::now();
    while (!stopped_) {
        timer_.expires_after(interval_);
        auto [ec] = co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        if (ec || stopped_) {
            co_return;
        }
        status_sample const now = sample_();
        auto const at = clock::now();
        log_.info(format_status(now, before, std::chrono::duration<double>(at - since).count()));
        before = now;
        since = at;
    }
}

}  // namespace smux_tunnel
