// Two engines back to back (core_pair): many streams both ways, random split points on both
// sides of the link, writes of awkward sizes, slow readers and keep-alive traffic in between.
// Every byte must arrive once, in order, on the right stream, then the FIN.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <smux/core/session.hpp>
#include <string>
#include <vector>

#include "support/core_frames.hpp"
#include "support/core_pair.hpp"

namespace {

using namespace core_test;
using namespace std::chrono_literals;
using smux::core::session;
using status = read_result::status;

/// What one side sends on one stream: the bytes, cut into writes of the given sizes.
struct direction {
    bytes data;
    std::vector<std::size_t> writes;
};

struct stream_plan {
    direction c2s;
    direction s2c;
};

/// One side's view of one stream while the test runs.
struct endpoint {
    direction const* out = nullptr;
    direction const* in = nullptr;
    // sending
    std::size_t write_index = 0;
    std::size_t write_done_bytes = 0;  ///< of the current planned write
    std::size_t offset = 0;            ///< bytes of `out` completed
    std::size_t pending = 0;           ///< bytes of the write in progress
    std::vector<std::span<std::byte const>> spans;
    bool fin_sent = false;
    // receiving
    std::size_t received = 0;
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    bool eof = false;

    [[nodiscard]] bool done() const {
        return fin_sent && pending == 0 && eof && received == in->data.size();
    }
};

class app {
  public:
    app(session& s, std::vector<event>& events, std::map<stream_id, stream_plan>& plans,
        bool is_client, std::mt19937_64& rng)
        : s_(s), events_(events), plans_(plans), client_(is_client), rng_(rng) {}

    std::map<stream_id, endpoint> streams;

    void open(std::vector<stream_plan> plans) {
        for (auto& p : plans) {
            auto const id = core_test::open(s_);
            ASSERT_TRUE(id);
            plans_[*id] = std::move(p);
            add(*id);
        }
    }

    /// One round of application work; true when something happened.
    bool run(double read_probability) {
        bool progress = handle_events();
        smux::error_code ec;
        while (auto id = s_.accept_stream(ec)) {
            add(*id);
            progress = true;
        }
        EXPECT_FALSE(ec) << ec.message();
        for (auto& [id, e] : streams) {
            progress = write(id, e) || progress;
            if (std::uniform_real_distribution<double>(0, 1)(rng_) < read_probability) {
                progress = read(id, e) || progress;
            }
        }
        return handle_events() || progress;
    }

    [[nodiscard]] bool done(std::size_t expected_streams) const {
        if (streams.size() != expected_streams) {
            return false;
        }
        return std::all_of(streams.begin(), streams.end(),
                           [](auto const& kv) { return kv.second.done(); });
    }

  private:
    void add(stream_id id) {
        auto it = plans_.find(id);
        ASSERT_NE(it, plans_.end()) << "stream " << id << " was never opened";
        endpoint e;
        e.out = client_ ? &it->second.c2s : &it->second.s2c;
        e.in = client_ ? &it->second.s2c : &it->second.c2s;
        ASSERT_TRUE(streams.emplace(id, std::move(e)).second) << "stream " << id << " twice";
    }

    bool write(stream_id id, endpoint& e) {
        if (e.pending > 0) {
            return false;
        }
        if (e.write_index == e.out->writes.size()) {
            if (!e.fin_sent) {
                EXPECT_FALSE(s_.close_write(id));
                e.fin_sent = true;
                return true;
            }
            return false;
        }
        std::size_t const want = e.out->writes[e.write_index] - e.write_done_bytes;
        // Cut the rest of the planned write into up to three spans, sometimes with empty ones.
        e.spans.clear();
        std::size_t pos = e.offset;
        std::size_t left = want;
        while (left > 0) {
            std::size_t n = left;
            if (rng_() % 2 == 0) {
                n = std::min<std::size_t>(left, rng_() % 4 == 0 ? 0 : 1 + rng_() % left);
            }
            if (e.spans.size() == 2) {
                n = left;
            }
            e.spans.emplace_back(e.out->data.data() + pos, n);
            pos += n;
            left -= n;
        }
        auto const r = s_.write(id, e.spans);
        EXPECT_FALSE(r.ec) << r.ec.message();
        EXPECT_LE(r.accepted, want);
        e.pending = r.accepted;
        return r.accepted > 0;
    }

    bool read(stream_id id, endpoint& e) {
        if (e.eof) {
            return false;
        }
        std::size_t const size = rng_() % 5 == 0 ? 1 + rng_() % 16 : 1 + rng_() % 140'000;
        scratch_.resize(size);
        std::size_t const split = rng_() % (size + 1);
        std::array<std::span<std::byte>, 2> dst{
            std::span<std::byte>(scratch_.data(), split),
            std::span<std::byte>(scratch_.data() + split, size - split)};
        auto const r = s_.read(id, dst);
        switch (r.state) {
            case status::data: {
                EXPECT_LE(e.received + r.bytes, e.in->data.size()) << "stream " << id;
                std::size_t const n = std::min(r.bytes, e.in->data.size() - e.received);
                std::span<std::byte const> got(scratch_.data(), n);
                if (!std::equal(got.begin(), got.end(),
                                e.in->data.begin() + static_cast<std::ptrdiff_t>(e.received))) {
                    ADD_FAILURE() << "stream " << id << ": wrong bytes at offset " << e.received;
                }
                e.hash = fnv1a(got, e.hash);
                e.received += r.bytes;
                return true;
            }
            case status::end_of_stream:
                e.eof = true;
                EXPECT_EQ(e.received, e.in->data.size()) << "stream " << id;
                EXPECT_EQ(e.hash, fnv1a(e.in->data)) << "stream " << id;
                return true;
            case status::would_block:
                return false;
            case status::failed:
                ADD_FAILURE() << "stream " << id << ": " << r.ec.message();
                e.eof = true;
                return false;
        }
        return false;
    }

    bool handle_events() {
        bool any = false;
        for (; next_event_ < events_.size(); ++next_event_) {
            auto const& ev = events_[next_event_];
            any = true;
            switch (ev.what) {
                case event::kind::write_done: {
                    auto it = streams.find(ev.id);
                    EXPECT_NE(it, streams.end());
                    if (it == streams.end()) {
                        break;
                    }
                    endpoint& e = it->second;
                    EXPECT_EQ(ev.bytes, e.pending) << "stream " << ev.id;
                    e.offset += ev.bytes;
                    e.write_done_bytes += ev.bytes;
                    e.pending = 0;
                    if (e.write_done_bytes == e.out->writes[e.write_index]) {
                        ++e.write_index;
                        e.write_done_bytes = 0;
                    }
                    break;
                }
                case event::kind::closed:
                    ADD_FAILURE() << "session ended: " << ev.ec.message();
                    break;
                default:
                    break;
            }
        }
        return any;
    }

    session& s_;
    std::vector<event>& events_;
    std::size_t next_event_ = 0;
    std::map<stream_id, stream_plan>& plans_;
    bool client_;
    std::mt19937_64& rng_;
    bytes scratch_;
};

direction make_direction(std::uint64_t seed, std::vector<std::size_t> writes) {
    std::size_t total = 0;
    for (auto w : writes) {
        total += w;
    }
    return {pattern(seed, total), std::move(writes)};
}

struct pair_case {
    char const* name;
    int version;
    std::int64_t client_frame;
    std::int64_t server_frame;
    std::int64_t client_stream_buffer;
    std::int64_t server_stream_buffer;
    std::int64_t receive_buffer;
    std::uint64_t seed;
};

class pair_transfer : public ::testing::TestWithParam<pair_case> {};

TEST_P(pair_transfer, every_byte_arrives_in_order_on_every_stream) {
    auto const& c = GetParam();
    auto client_cfg = make_config(c.version);
    client_cfg.max_frame_size = c.client_frame;
    client_cfg.max_stream_buffer = c.client_stream_buffer;
    client_cfg.max_receive_buffer = c.receive_buffer;
    auto server_cfg = client_cfg;
    server_cfg.max_frame_size = c.server_frame;
    server_cfg.max_stream_buffer = c.server_stream_buffer;
    core_pair p(client_cfg, server_cfg, c.seed);
    std::mt19937_64 rng(c.seed * 31 + 7);

    // Sizes around each side's frame size and the protocol's limits.
    auto sizes = [&](std::int64_t mfs) {
        auto const f = static_cast<std::size_t>(mfs);
        return std::vector<std::size_t>{1,      f - 1 + (f == 1), f,         f + 1,
                                        65'535, 65'536,           1U << 20U, 1 + rng() % 150'000};
    };
    auto const up = sizes(c.client_frame);
    auto const down = sizes(c.server_frame);
    std::vector<stream_plan> from_client;
    std::vector<stream_plan> from_server;
    std::uint64_t seed = c.seed * 1'000;
    for (std::size_t i = 0; i < 32; ++i) {
        stream_plan plan;
        // Each size appears as the first write of some stream in each direction; the 1 MiB
        // writes are kept to a few streams.
        std::vector<std::size_t> w_up{up[i % up.size()]};
        std::vector<std::size_t> w_down{down[(i + 3) % down.size()]};
        if (i % 3 == 0) {
            w_up.push_back(up[(i + 5) % up.size()] % (1U << 19U) + 1);
        }
        if (i % 4 == 1) {
            w_down.push_back(down[(i + 1) % down.size()] % (1U << 19U) + 1);
        }
        plan.c2s = make_direction(++seed, w_up);
        plan.s2c = make_direction(++seed, w_down);
        (i % 4 == 3 ? from_server : from_client).push_back(std::move(plan));
    }
    // One stream of many one-byte writes each way, one stream with nothing to send.
    stream_plan tiny;
    tiny.c2s = make_direction(++seed, std::vector<std::size_t>(300, 1));
    tiny.s2c = make_direction(++seed, std::vector<std::size_t>(200, 1));
    from_client.push_back(std::move(tiny));
    from_server.push_back(stream_plan{});
    std::size_t const total_streams = from_client.size() + from_server.size();

    std::map<stream_id, stream_plan> plans;
    app client(p.client, p.client_events, plans, true, rng);
    app server(p.server, p.server_events, plans, false, rng);
    client.open(std::move(from_client));
    server.open(std::move(from_server));
    p.collect();

    int idle = 0;
    int round = 0;
    for (; round < 500'000; ++round) {
        // Readers are slow now and then, so the budget and the windows fill up.
        double const read_probability = (round / 40) % 3 == 0 ? 0.2 : 0.9;
        bool progress = client.run(read_probability);
        progress = server.run(read_probability) || progress;
        progress = p.step() || progress;
        p.collect();
        if (round % 5 == 0) {
            p.advance(1s);  // keep-alive NOPs travel between the data frames
        }
        if (client.done(total_streams) && server.done(total_streams)) {
            break;
        }
        idle = progress ? 0 : idle + 1;
        ASSERT_LT(idle, 2'000) << "no progress: the pair is deadlocked";
        ASSERT_TRUE(p.client.is_alive()) << p.client.terminal_error().message();
        ASSERT_TRUE(p.server.is_alive()) << p.server.terminal_error().message();
    }
    RecordProperty("rounds", round);
    RecordProperty("client_bytes_sent", std::to_string(p.client.counters().bytes_sent));
    RecordProperty("server_bytes_sent", std::to_string(p.server.counters().bytes_sent));
    ASSERT_TRUE(client.done(total_streams));
    ASSERT_TRUE(server.done(total_streams));
    for (auto const& [id, e] : client.streams) {
        EXPECT_EQ(e.hash, fnv1a(e.in->data)) << id;
    }

    // Full close on both sides: every stream is forgotten, nothing stays buffered.
    for (auto const& [id, e] : client.streams) {
        p.client.close_stream(id);
    }
    for (auto const& [id, e] : server.streams) {
        p.server.close_stream(id);
    }
    p.pump();
    p.collect();
    for (auto* s : {&p.client, &p.server}) {
        auto const k = s->counters();
        EXPECT_EQ(k.streams_open, 0U);
        EXPECT_EQ(k.buffered_bytes, 0U);
        EXPECT_EQ(k.pinned_bytes, 0U);
        EXPECT_TRUE(s->is_alive());
    }
    EXPECT_EQ(p.client.counters().bytes_sent, p.server.counters().bytes_received);
    EXPECT_EQ(p.server.counters().bytes_sent, p.client.counters().bytes_received);
}

INSTANTIATE_TEST_SUITE_P(
    configs, pair_transfer,
    ::testing::Values(pair_case{"v1_defaults", 1, 32'768, 32'768, 65'536, 65'536, 4'194'304, 1},
                      pair_case{"v2_defaults", 2, 32'768, 32'768, 65'536, 65'536, 4'194'304, 2},
                      pair_case{"v1_small_budget", 1, 1'000, 65'535, 65'536, 65'536, 200'000, 3},
                      pair_case{"v2_small_budget", 2, 65'535, 1'000, 16'384, 65'536, 200'000, 4},
                      pair_case{"v2_uneven_windows", 2, 4'096, 65'535, 1'048'576, 8'192, 4'194'304,
                                5},
                      pair_case{"v1_max_frames", 1, 65'535, 65'535, 65'536, 65'536, 1'000'000, 6}),
    [](auto const& param_info) { return std::string(param_info.param.name); });

TEST(pair, stream_opened_by_either_side_reaches_the_other) {
    core_pair p(make_config(2), 99);
    auto const a = open(p.client);
    auto const b = open(p.server);
    p.pump();
    p.collect();
    EXPECT_EQ(accept(p.server), a);
    EXPECT_EQ(accept(p.client), b);
    EXPECT_EQ(a, 3U);
    EXPECT_EQ(b, 2U);
}

TEST(pair, a_stalled_stream_does_not_stall_the_others_in_v2) {
    // One stream's reader never reads: its sender stops at the window; another stream of the
    // same session keeps flowing (docs/protocol.md §6.1, bounded by v2 windows).
    core_pair p(make_config(2), 5);
    auto const stalled = *open(p.client);
    auto const live = *open(p.client);
    borrowed_write big(pattern(1, 1 << 20));
    ASSERT_EQ(big.submit(p.client, stalled).accepted, smux::core::initial_peer_window);
    p.pump();
    p.collect();
    ASSERT_EQ(accept(p.server), stalled);
    ASSERT_EQ(accept(p.server), live);
    EXPECT_EQ(p.server.readable_bytes(stalled), smux::core::initial_peer_window);
    bytes received;
    for (int i = 0; i < 20; ++i) {
        borrowed_write w(pattern(100 + static_cast<std::uint64_t>(i), 50'000));
        ASSERT_EQ(w.submit(p.client, live).accepted, 50'000U);
        p.pump();
        auto const r = read_all(p.server, live);
        EXPECT_EQ(r.data, w.data);
        received += r.data;
        p.pump();  // the window updates of `live` go back
        // The writer of the stalled stream still waits.
        EXPECT_EQ(big.submit(p.client, stalled).accepted, 0U);
        p.collect();
    }
    EXPECT_EQ(received.size(), 20U * 50'000U);
    EXPECT_TRUE(p.client.is_alive());
    EXPECT_TRUE(p.server.is_alive());
}

}  // namespace
