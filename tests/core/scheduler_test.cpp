// Send scheduling (docs/protocol.md §10): control frames before queued data, round-robin
// data across streams, FIN behind its stream's data, frames within max_frame_size, partial
// commits, write completion, abort, and a gather list that borrows the caller's bytes.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <smux/core/session.hpp>
#include <smux/error.hpp>
#include <string>
#include <vector>

#include "support/core_frames.hpp"

namespace {

using namespace core_test;
using namespace std::chrono_literals;
using smux::core::session;

bool is_control(command c) {
    return c == command::syn || c == command::nop || c == command::upd;
}

/// Every frame carries the session version and a well-formed length (docs/protocol.md §11,
/// items 1, 4 and 6).
void expect_well_formed(std::vector<parsed_frame> const& frames, int version,
                        std::size_t max_frame_size) {
    for (auto const& f : frames) {
        EXPECT_EQ(f.h.version, version);
        EXPECT_EQ(smux::core::validate_header(f.h, version), smux::error_code{});
        switch (f.h.cmd) {
            case command::psh:
                EXPECT_GE(f.h.length, 1U);  // Go never sends an empty PSH
                EXPECT_LE(f.h.length, max_frame_size);
                break;
            case command::upd:
                EXPECT_EQ(f.h.length, 8U);
                break;
            default:
                EXPECT_EQ(f.h.length, 0U);
                EXPECT_TRUE(f.h.cmd != command::nop || f.h.sid == 0);
                break;
        }
    }
}

std::vector<stream_id> data_sids(std::vector<parsed_frame> const& frames) {
    std::vector<stream_id> out;
    for (auto const& f : frames) {
        if (f.h.cmd == command::psh) {
            out.push_back(f.h.sid);
        }
    }
    return out;
}

/// Strict round-robin: in the order the streams first appear, each stream that still has
/// frames sends exactly one per round.
void expect_round_robin(std::vector<stream_id> const& seq) {
    std::vector<stream_id> order;
    std::map<stream_id, std::size_t> remaining;
    for (auto id : seq) {
        if (remaining[id]++ == 0) {
            order.push_back(id);
        }
    }
    std::vector<stream_id> expected;
    while (expected.size() < seq.size()) {
        for (auto id : order) {
            if (remaining[id] > 0) {
                --remaining[id];
                expected.push_back(id);
            }
        }
    }
    EXPECT_EQ(seq, expected);
}

// ---- ordering

TEST(scheduler, control_frames_come_before_queued_data) {
    auto cfg = make_config(2);
    session s(role::server, cfg, t0);
    ASSERT_EQ(feed(s, syn(2, 3) + psh(2, 3, "ping")), 20U);
    auto const own = *open(s);
    (void)take_output(s);
    borrowed_write a(pattern(1, 100'000));
    borrowed_write b(pattern(2, 3'000));
    ASSERT_EQ(a.submit(s, own).accepted, 100'000U);
    auto const second = *open(s);
    ASSERT_EQ(b.submit(s, second).accepted, 3'000U);
    s.on_timer(t0 + cfg.keep_alive_interval);  // NOP
    bytes got;
    ASSERT_EQ(read_some(s, 3, got).state, read_result::status::data);  // UPD
    auto const frames = take_frames(s);
    expect_well_formed(frames, 2, 32'768);
    std::size_t first_data = frames.size();
    std::size_t last_control = 0;
    std::size_t controls = 0;
    for (std::size_t i = 0; i < frames.size(); ++i) {
        if (is_control(frames[i].h.cmd)) {
            last_control = i;
            ++controls;
        } else {
            first_data = std::min(first_data, i);
        }
    }
    EXPECT_EQ(controls, 3U);  // NOP, SYN of the second stream, UPD
    EXPECT_LT(last_control, first_data);
    // The second stream's SYN precedes its data.
    auto const syn_at = std::find_if(frames.begin(), frames.end(), [&](auto const& f) {
        return f.h.cmd == command::syn && f.h.sid == second;
    });
    auto const psh_at = std::find_if(frames.begin(), frames.end(), [&](auto const& f) {
        return f.h.cmd == command::psh && f.h.sid == second;
    });
    EXPECT_LT(syn_at, psh_at);
}

TEST(scheduler, syn_precedes_data_when_control_frames_fill_several_batches) {
    session s(role::client, make_config(1), t0);
    bytes const one = to_bytes("!");
    std::array<std::span<std::byte const>, 1> const src{std::span<std::byte const>(one)};
    std::vector<stream_id> ids;
    for (int i = 0; i < 5'000; ++i) {
        ids.push_back(*open(s));
        ASSERT_EQ(s.write(ids.back(), src).accepted, 1U);
    }
    std::map<stream_id, std::size_t> syn_at;
    std::map<stream_id, std::size_t> psh_at;
    std::size_t index = 0;
    int batches = 0;
    for (; batches < 1'000; ++batches) {
        auto const segs = s.prepare_send();
        if (segs.empty()) {
            break;
        }
        for (auto const& f : parse_frames(flatten(segs))) {
            auto& at = f.h.cmd == command::syn ? syn_at : psh_at;
            EXPECT_TRUE(at.emplace(f.h.sid, index++).second) << f.h.sid;
        }
        s.commit_send(total_size(segs));
    }
    EXPECT_GT(batches, 1);
    ASSERT_EQ(syn_at.size(), ids.size());
    ASSERT_EQ(psh_at.size(), ids.size());
    for (auto id : ids) {
        EXPECT_LT(syn_at[id], psh_at[id]) << id;
    }
    EXPECT_EQ(count_events(take_events(s), event::kind::write_done), ids.size());
}

TEST(scheduler, control_frames_overtake_data_left_for_later_batches) {
    smux::core::session::options opts;
    opts.max_batch_bytes = 40'000;
    auto cfg = make_config(2);
    session s(role::server, cfg, t0, opts);
    ASSERT_EQ(feed(s, syn(2, 3) + psh(2, 3, "ping")), 20U);
    auto const own = *open(s);
    borrowed_write a(pattern(1, 200'000));
    ASSERT_EQ(a.submit(s, own).accepted, 200'000U);
    auto segs = s.prepare_send();
    s.commit_send(total_size(segs));
    // More data waits; now a keep-alive and a window update are due.
    s.on_timer(t0 + cfg.keep_alive_interval);
    bytes got;
    ASSERT_EQ(read_some(s, 3, got).state, read_result::status::data);
    segs = s.prepare_send();
    auto const frames = parse_frames(flatten(segs));
    s.commit_send(total_size(segs));
    ASSERT_GE(frames.size(), 3U);
    EXPECT_EQ(frames[0].h.cmd, command::nop);
    EXPECT_EQ(frames[1].h.cmd, command::upd);
    EXPECT_EQ(frames[1].h.sid, 3U);
    EXPECT_EQ(frames[2].h.cmd, command::psh);
}

TEST(scheduler, data_frames_alternate_between_streams) {
    for (int v : {1, 2}) {
        session s(role::client, make_config(v), t0);
        std::vector<stream_id> ids;
        std::vector<std::unique_ptr<borrowed_write>> writes;
        for (std::size_t size : {40'000U, 100'000U, 70'000U, 1U, 200'000U}) {
            ids.push_back(*open(s));
            writes.push_back(std::make_unique<borrowed_write>(pattern(size, size)));
            ASSERT_EQ(writes.back()->submit(s, ids.back()).accepted, size);
        }
        auto const frames = take_frames(s);
        expect_well_formed(frames, v, 32'768);
        auto const seq = data_sids(frames);
        EXPECT_EQ(seq.size(), 2U + 4U + 3U + 1U + 7U);
        expect_round_robin(seq);
        // Every stream's data arrives whole and in order.
        for (std::size_t i = 0; i < ids.size(); ++i) {
            bytes got;
            for (auto const& f : frames) {
                if (f.h.cmd == command::psh && f.h.sid == ids[i]) {
                    got += f.payload;
                }
            }
            EXPECT_EQ(got, writes[i]->data);
        }
    }
}

TEST(scheduler, round_robin_continues_across_batches) {
    smux::core::session::options opts;
    opts.max_batch_bytes = 33'000;  // one full data frame per batch
    session s(role::client, make_config(1), t0, opts);
    std::vector<std::unique_ptr<borrowed_write>> writes;
    for (std::size_t size : {100'000U, 50'000U, 150'000U}) {
        auto const id = *open(s);
        writes.push_back(std::make_unique<borrowed_write>(pattern(size, size)));
        ASSERT_EQ(writes.back()->submit(s, id).accepted, size);
    }
    std::vector<parsed_frame> frames;
    for (int i = 0; i < 1'000; ++i) {
        auto const segs = s.prepare_send();
        if (segs.empty()) {
            break;
        }
        EXPECT_LE(total_size(segs), 33'000U + 3U * 8U);  // plus the three SYNs
        auto const batch = parse_frames(flatten(segs));
        frames.insert(frames.end(), batch.begin(), batch.end());
        s.commit_send(total_size(segs));
    }
    expect_well_formed(frames, 1, 32'768);
    expect_round_robin(data_sids(frames));
}

TEST(scheduler, fin_never_overtakes_its_streams_data) {
    for (int v : {1, 2}) {
        smux::core::session::options opts;
        opts.max_batch_bytes = 50'000;
        session s(role::client, make_config(v), t0, opts);
        auto const a = *open(s);
        auto const b = *open(s);
        auto const c = *open(s);
        borrowed_write wa(pattern(1, 100'000));
        borrowed_write wb(to_bytes("x"));
        ASSERT_EQ(wa.submit(s, a).accepted, 100'000U);
        ASSERT_EQ(wb.submit(s, b).accepted, 1U);
        // Half of `a` goes out, then every stream is half-closed.
        auto const segs = s.prepare_send();
        auto frames = parse_frames(flatten(segs));
        s.commit_send(total_size(segs));
        for (auto id : {a, b, c}) {
            ASSERT_FALSE(s.close_write(id));
        }
        auto const rest = take_frames(s);
        frames.insert(frames.end(), rest.begin(), rest.end());
        expect_well_formed(frames, v, 32'768);
        for (auto id : {a, b, c}) {
            std::size_t fins = 0;
            std::size_t fin_at = 0;
            std::size_t last_psh = 0;
            for (std::size_t i = 0; i < frames.size(); ++i) {
                if (frames[i].h.sid != id) {
                    continue;
                }
                if (frames[i].h.cmd == command::fin) {
                    ++fins;
                    fin_at = i;
                } else if (frames[i].h.cmd == command::psh) {
                    last_psh = i;
                }
            }
            EXPECT_EQ(fins, 1U) << id;
            EXPECT_GT(fin_at, last_psh) << id;
        }
    }
}

TEST(scheduler, fin_follows_a_window_limited_write) {
    session s(role::client, make_config(2), t0);
    auto const id = *open(s);
    borrowed_write w(pattern(1, 1 << 20));
    ASSERT_EQ(w.submit(s, id).accepted, smux::core::initial_peer_window);
    ASSERT_FALSE(s.close_write(id));
    auto const frames = take_frames(s);
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(frames.back().h.cmd, command::fin);
    std::size_t payload = 0;
    for (auto const& f : frames) {
        payload += f.payload.size();
    }
    EXPECT_EQ(payload, smux::core::initial_peer_window);
}

// ---- frame sizes and gather lists

class frame_sizes : public ::testing::TestWithParam<std::int64_t> {};

TEST_P(frame_sizes, frames_never_exceed_max_frame_size) {
    std::int64_t const mfs = GetParam();
    auto const max_frame = static_cast<std::size_t>(mfs);
    std::mt19937_64 rng(static_cast<std::uint64_t>(mfs));
    for (int v : {1, 2}) {
        auto cfg = make_config(v);
        cfg.max_frame_size = mfs;
        session s(role::client, cfg, t0);
        auto const id = *open(s);
        std::size_t const total = mfs < 64 ? 3'000 : 250'000;
        bytes const data = pattern(9, total);
        // A gather write of random pieces, some empty.
        std::vector<std::span<std::byte const>> src;
        for (std::size_t pos = 0; pos < total;) {
            std::size_t const n =
                std::min<std::size_t>(total - pos, rng() % 3 == 0 ? 0 : 1 + rng() % 20'000);
            src.emplace_back(data.data() + pos, n);
            pos += n;
        }
        ASSERT_EQ(s.write(id, src).accepted, total);
        std::vector<parsed_frame> frames;
        for (int i = 0; i < 100'000; ++i) {
            auto const segs = s.prepare_send();
            if (segs.empty()) {
                break;
            }
            EXPECT_LE(segs.size(), 64U);
            auto const batch = parse_frames(flatten(segs));
            frames.insert(frames.end(), batch.begin(), batch.end());
            s.commit_send(total_size(segs));
        }
        expect_well_formed(frames, v, max_frame);
        bytes got;
        std::size_t full = 0;
        for (auto const& f : frames) {
            if (f.h.cmd == command::psh) {
                got += f.payload;
                full += f.payload.size() == max_frame ? 1 : 0;
            }
        }
        EXPECT_EQ(got, data);
        // The engine fills frames: all but a handful are of the maximum size.
        EXPECT_GE(full + 40, frames.size() - 1) << "v" << v;
    }
}

INSTANTIATE_TEST_SUITE_P(limits, frame_sizes,
                         ::testing::Values(1, 7, 100, 1'024, 32'767, 32'768, 65'535),
                         [](auto const& param_info) {
                             return "mfs_" + std::to_string(param_info.param);
                         });

TEST(scheduler, many_small_pieces_respect_the_segment_limit) {
    for (std::size_t limit : {64U, 8U}) {
        smux::core::session::options opts;
        opts.max_batch_segments = limit;
        session s(role::client, make_config(1), t0, opts);
        auto const id = *open(s);
        bytes const data = pattern(4, 400 * 200);
        std::vector<std::span<std::byte const>> src;
        for (std::size_t i = 0; i < 400; ++i) {
            src.emplace_back(data.data() + i * 200, 200);  // too large to be copied
        }
        ASSERT_EQ(s.write(id, src).accepted, data.size());
        bytes got;
        for (int i = 0; i < 10'000; ++i) {
            auto const segs = s.prepare_send();
            if (segs.empty()) {
                break;
            }
            EXPECT_LE(segs.size(), limit);
            for (auto const& f : parse_frames(flatten(segs))) {
                if (f.h.cmd == command::psh) {
                    got += f.payload;
                }
            }
            s.commit_send(total_size(segs));
        }
        EXPECT_EQ(got, data);
    }
}

TEST(scheduler, gather_list_borrows_the_callers_bytes) {
    session s(role::client, make_config(1), t0);
    auto const id = *open(s);
    (void)take_output(s);
    bytes data = pattern(3, 100'000);
    std::array<std::span<std::byte const>, 2> src{
        std::span<std::byte const>(data.data(), 60'000),
        std::span<std::byte const>(data.data() + 60'000, 40'000)};
    ASSERT_EQ(s.write(id, src).accepted, 100'000U);
    auto const segs = s.prepare_send();
    // Every payload byte of the batch is a segment pointing into `data`, in order.
    std::byte const* expect = data.data();
    std::size_t borrowed = 0;
    for (auto const& seg : segs) {
        if (seg.data() >= data.data() && seg.data() < data.data() + data.size()) {
            EXPECT_EQ(seg.data(), expect);
            expect = seg.data() + seg.size();
            borrowed += seg.size();
        }
    }
    EXPECT_EQ(borrowed, data.size());
    // No copy was taken: a change of the caller's bytes before the commit shows on the wire.
    data[12'345] = ~data[12'345];
    data[99'999] = ~data[99'999];
    bytes payload;
    for (auto const& f : parse_frames(flatten(segs))) {
        payload += f.payload;
    }
    EXPECT_EQ(payload, data);
    s.commit_send(total_size(segs));
}

// ---- commits

struct batch_script {
    session s{role::client, make_config(1), t0};
    borrowed_write small{to_bytes("hello")};
    borrowed_write large{pattern(8, 5'000)};

    batch_script() {
        auto const a = *open(s);
        auto const b = *open(s);
        EXPECT_EQ(small.submit(s, a).accepted, 5U);
        EXPECT_EQ(large.submit(s, b).accepted, 5'000U);
        EXPECT_FALSE(s.close_write(a));
        s.on_timer(t0 + 10s);
    }
};

TEST(scheduler, partial_commit_at_every_offset_resends_exactly_the_rest) {
    bytes full;
    {
        batch_script b;
        auto const segs = b.s.prepare_send();
        full = flatten(segs);
        b.s.commit_send(full.size());
        EXPECT_TRUE(take_output(b.s).empty());
    }
    auto const frames = parse_frames(full);
    ASSERT_EQ(frames.size(), 6U);  // NOP, 2 SYN, 2 PSH, FIN
    for (std::size_t k = 1; k < full.size(); ++k) {
        batch_script b;
        ASSERT_EQ(flatten(b.s.prepare_send()), full);
        b.s.commit_send(k);
        // New work meanwhile must not slip into the rest of the batch.
        b.s.on_timer(t0 + 20s);
        auto const rest = b.s.prepare_send();
        ASSERT_EQ(flatten(rest), bytes(full.begin() + static_cast<std::ptrdiff_t>(k), full.end()))
            << "after committing " << k;
        b.s.commit_send(total_size(rest));
        ASSERT_EQ(take_output(b.s), nop(1)) << k;
        ASSERT_EQ(count_events(take_events(b.s), event::kind::write_done), 2U);
    }
}

TEST(scheduler, random_partial_commits_reassemble_the_stream) {
    std::mt19937_64 rng(1234);
    for (int round = 0; round < 50; ++round) {
        batch_script b;
        bytes wire;
        for (int i = 0; i < 100'000; ++i) {
            auto const segs = b.s.prepare_send();
            std::size_t const total = total_size(segs);
            if (total == 0) {
                break;
            }
            std::size_t const n = 1 + rng() % std::min<std::size_t>(total, 700);
            bytes const all = flatten(segs);
            wire.insert(wire.end(), all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
            b.s.commit_send(n);
        }
        auto const frames = parse_frames(wire);
        ASSERT_EQ(frames.size(), 6U);
        bytes big;
        for (auto const& f : frames) {
            if (f.h.cmd == command::psh && f.h.sid == 5) {
                big += f.payload;
            }
        }
        EXPECT_EQ(big, b.large.data);
        EXPECT_EQ(b.s.counters().bytes_sent, wire.size());
    }
}

TEST(scheduler, write_done_only_after_every_byte_was_committed) {
    for (std::size_t size : {5U, 100'000U}) {
        session s(role::client, make_config(1), t0);
        auto const id = *open(s);
        (void)take_output(s);
        borrowed_write w(pattern(size, size));
        ASSERT_EQ(w.submit(s, id).accepted, size);
        auto const segs = s.prepare_send();
        std::size_t const total = total_size(segs);
        ASSERT_EQ(total, size + 8U * ((size + 32'767) / 32'768));
        s.commit_send(total / 2);
        EXPECT_TRUE(take_events(s).empty());
        s.commit_send(total - total / 2 - 1);
        EXPECT_TRUE(take_events(s).empty());
        s.commit_send(1);
        auto const evs = take_events(s);
        ASSERT_EQ(evs.size(), 1U);
        EXPECT_EQ(evs[0].what, event::kind::write_done);
        EXPECT_EQ(evs[0].bytes, size);
    }
}

TEST(scheduler, write_done_waits_for_the_last_batch) {
    smux::core::session::options opts;
    opts.max_batch_bytes = 40'000;
    session s(role::client, make_config(1), t0, opts);
    auto const id = *open(s);
    borrowed_write w(pattern(2, 150'000));
    ASSERT_EQ(w.submit(s, id).accepted, 150'000U);
    int batches = 0;
    for (;;) {
        auto const segs = s.prepare_send();
        if (segs.empty()) {
            break;
        }
        ++batches;
        s.commit_send(total_size(segs));
        auto const evs = take_events(s);
        if (s.want_write()) {
            EXPECT_TRUE(evs.empty()) << "batch " << batches;
        } else {
            ASSERT_EQ(evs.size(), 1U);
            EXPECT_EQ(evs[0].bytes, 150'000U);
        }
    }
    EXPECT_GE(batches, 4);
}

TEST(scheduler, abort_write_drops_unframed_bytes) {
    smux::core::session::options opts;
    opts.max_batch_bytes = 40'000;
    session s(role::client, make_config(1), t0, opts);
    auto const id = *open(s);
    borrowed_write w(pattern(2, 150'000));
    ASSERT_EQ(w.submit(s, id).accepted, 150'000U);
    auto const segs = s.prepare_send();
    std::size_t framed = 0;
    for (auto const& f : parse_frames(flatten(segs))) {
        framed += f.h.cmd == command::psh ? f.payload.size() : 0;
    }
    ASSERT_GT(framed, 0U);
    s.abort_write(id);
    ASSERT_FALSE(s.close_write(id));
    EXPECT_TRUE(take_events(s).empty());
    s.commit_send(total_size(segs));
    auto const evs = take_events(s);
    ASSERT_EQ(evs.size(), 1U);
    EXPECT_EQ(evs[0].what, event::kind::write_done);
    EXPECT_EQ(evs[0].bytes, framed);
    EXPECT_EQ(take_output(s), fin(1, id));  // no more data, the FIN still comes
    // A new write after the abort goes on normally.
    session t(role::client, make_config(1), t0);
    auto const id2 = *open(t);
    ASSERT_EQ(w.submit(t, id2).accepted, 150'000U);
    t.abort_write(id2);
    auto const evs2 = take_events(t);
    ASSERT_EQ(evs2.size(), 1U);
    EXPECT_EQ(evs2[0].bytes, 0U);
    EXPECT_EQ(take_output(t), syn(1, id2));
    borrowed_write again(to_bytes("again"));
    ASSERT_EQ(again.submit(t, id2).accepted, 5U);
    EXPECT_EQ(take_output(t), psh(1, id2, "again"));
}

TEST(scheduler, refusal_fins_are_control_frames_too) {
    auto cfg = make_config(1);
    cfg.max_streams = 1;
    session s(role::server, cfg, t0);
    auto const own = *open(s);
    borrowed_write w(pattern(1, 100'000));
    ASSERT_EQ(w.submit(s, own).accepted, 100'000U);
    ASSERT_EQ(feed(s, syn(1, 3) + syn(1, 5)), 16U);
    auto const frames = take_frames(s);
    ASSERT_GE(frames.size(), 4U);
    std::vector<std::pair<command, stream_id>> head;
    for (std::size_t i = 0; i < 3; ++i) {
        head.emplace_back(frames[i].h.cmd, frames[i].h.sid);
    }
    // The SYN and both refusals precede the data.
    EXPECT_TRUE(std::is_permutation(head.begin(), head.end(),
                                    std::vector<std::pair<command, stream_id>>{
                                        {command::syn, own}, {command::fin, 3}, {command::fin, 5}}
                                        .begin()));
    EXPECT_EQ(frames[3].h.cmd, command::psh);
}

}  // namespace
