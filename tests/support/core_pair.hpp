// Two engines wired back to back: a client and a server session joined by two in-memory
// links that move bytes with random split points (on the sending and on the receiving side)
// and a fake clock. Deterministic for a given seed.

#ifndef SMUX_TESTS_SUPPORT_CORE_PAIR_HPP
#define SMUX_TESTS_SUPPORT_CORE_PAIR_HPP

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <smux/config.hpp>
#include <smux/core/session.hpp>
#include <span>
#include <vector>

#include "support/core_frames.hpp"

namespace core_test {

class core_pair {
  public:
    core_pair(smux::config const& client_cfg, smux::config const& server_cfg, std::uint64_t seed,
              smux::core::session::options const& opts = {})
        : client(role::client, client_cfg, t0, opts),
          server(role::server, server_cfg, t0, opts),
          rng(seed) {}

    core_pair(smux::config const& cfg, std::uint64_t seed) : core_pair(cfg, cfg, seed) {}

    smux::core::session client;
    smux::core::session server;
    smux::core::time_point now = t0;
    std::mt19937_64 rng;

    /// Events of each side, in order, collected after every engine call of the pair.
    std::vector<event> client_events;
    std::vector<event> server_events;

    /// Bytes one direction of the link holds before the sender has to wait (a socket buffer).
    std::size_t link_capacity = 256 * 1024;

    /// Largest piece handed to one `receive` call (pieces are random up to this).
    std::size_t max_piece = 200 * 1024;

    /// Moves bytes once in each direction (random amounts); true when anything moved.
    bool step() {
        bool moved = move(client, server, to_server_, client_events, server_events);
        moved = move(server, client, to_client_, server_events, client_events) || moved;
        return moved;
    }

    /// Moves bytes until nothing moves any more (both sides idle, or blocked on the other).
    void pump(int max_rounds = 1'000'000) {
        for (int i = 0; i < max_rounds; ++i) {
            if (!step()) {
                return;
            }
        }
        ADD_FAILURE() << "core_pair::pump did not settle";
    }

    /// Advances the fake clock and fires the timers that are due.
    void advance(std::chrono::milliseconds d) {
        now += d;
        for (auto* s : {&client, &server}) {
            if (auto t = s->next_timer(); t && *t <= now) {
                s->on_timer(now);
            }
        }
        collect();
    }

    void collect() {
        append_events(client, client_events);
        append_events(server, server_events);
    }

    [[nodiscard]] std::size_t in_flight_to_server() const { return to_server_.pending(); }
    [[nodiscard]] std::size_t in_flight_to_client() const { return to_client_.pending(); }

  private:
    struct link {
        bytes q;
        std::size_t head = 0;

        [[nodiscard]] std::size_t pending() const { return q.size() - head; }
        void compact() {
            if (head > 0 && (head == q.size() || head > (1U << 20U))) {
                q.erase(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(head));
                head = 0;
            }
        }
    };

    static void append_events(smux::core::session& s, std::vector<event>& out) {
        while (auto e = s.poll_event()) {
            out.push_back(*e);
        }
    }

    std::size_t random_piece(std::size_t available) {
        std::size_t limit = 1;
        switch (rng() % 6) {
            case 0:
                limit = 1;
                break;
            case 1:
                limit = 1 + rng() % 16;
                break;
            case 2:
                limit = 1 + rng() % 4'096;
                break;
            case 3:
                limit = 1 + rng() % 70'000;
                break;
            default:
                limit = available;
                break;
        }
        return std::min({limit, available, max_piece});
    }

    bool move(smux::core::session& from, smux::core::session& to, link& l,
              std::vector<event>& from_events, std::vector<event>& to_events) {
        bool moved = false;
        // Receiving side: random pieces, as long as the receiver takes them.
        while (l.pending() > 0 && to.want_read()) {
            std::size_t const piece = random_piece(l.pending());
            std::size_t const took =
                to.receive(std::span<std::byte const>(l.q.data() + l.head, piece));
            append_events(to, to_events);
            l.head += took;
            moved = moved || took > 0;
            if (took < piece) {
                break;
            }
        }
        l.compact();
        // Sending side: commit a random prefix of the gather list, bounded by the link room.
        if (l.pending() < link_capacity) {
            auto const segs = from.prepare_send();
            std::size_t const total = total_size(segs);
            if (total > 0) {
                std::size_t n = std::min(total, link_capacity - l.pending());
                if (rng() % 3 == 0) {
                    n = 1 + rng() % n;
                }
                std::size_t left = n;
                for (auto const& seg : segs) {
                    std::size_t const k = std::min(left, seg.size());
                    l.q.insert(l.q.end(), seg.begin(),
                               seg.begin() + static_cast<std::ptrdiff_t>(k));
                    left -= k;
                    if (left == 0) {
                        break;
                    }
                }
                from.commit_send(n);
                append_events(from, from_events);
                moved = true;
            }
        }
        return moved;
    }

    link to_server_;
    link to_client_;
};

}  // namespace core_test

#endif
