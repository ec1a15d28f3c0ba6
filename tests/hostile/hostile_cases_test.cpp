// Hostile peers against two targets: the smux-echo server (a child process; the
// outcome is read from its stderr log line `session from ADDR ended: MESSAGE`, and its resident
// memory is measured) and the library in process (smux::tcp_session serving echo streams like
// smux-echo; the outcome is the exact error_code of async_wait_closed, and the counters of
// stats() are checked after every event-loop step).
//
// The attacker writes raw frames over a plain TCP socket on 127.0.0.1. In every case a
// well-behaved smux client session on the same server gets its echo during the attack, and
// the server stays within the memory bound derived from SECURITY.md (see TearDown).

#include <gtest/gtest.h>

#include <asio/steady_timer.hpp>
#include <iostream>

#include "hostile_support.hpp"

namespace {

using namespace smux_hostile;

enum class where { echo, library };

std::string where_name(where w) {
    return w == where::echo ? "echo" : "library";
}

std::vector<where> targets() {
    std::vector<where> out;
#ifdef SMUX_HOSTILE_ECHO_PATH
    out.push_back(where::echo);
#endif
    out.push_back(where::library);
    return out;
}

/// The shared fixture: one server (either target), one well-behaved client, attackers.
class hostile_base : public ::testing::Test, protected watched_loop {
  protected:
    ::testing::AssertionResult start(where w, server_options const& opts) {
        where_ = w;
        opts_ = opts;
        if (w == where::echo) {
#ifdef SMUX_HOSTILE_ECHO_PATH
            proc_ = std::make_unique<server_process>(ioc_);
            if (auto r = proc_->start(SMUX_HOSTILE_ECHO_PATH, opts.to_args(), wd_); !r) {
                return r;
            }
#else
            return ::testing::AssertionFailure() << "smux-echo is not built";
#endif
        } else {
            lib_ = std::make_unique<lib_server>(ioc_, opts.to_config());
        }
        good_ = std::make_unique<good_client>(ioc_, endpoint(), opts.version);
        if (auto r = probe(); !r) {
            return r << " (before any attack)";
        }
        if (proc_) {
            auto m = read_memory(proc_->pid());
            if (!m) {
                return ::testing::AssertionFailure() << "cannot read /proc/PID/status";
            }
            baseline_ = *m;
            max_rss_ = m->rss;
            sampler_ = std::make_unique<asio::steady_timer>(ioc_);
            sample_memory();
        }
        return ::testing::AssertionSuccess();
    }

    void TearDown() override {
        if (!good_) {
            return;  // start() failed: its assertion reported why
        }
        EXPECT_TRUE(good_->check());
        for (auto& p : peers_) {
            p->close();
        }
        if (proc_) {
            check_process_memory();
        }
        if (lib_) {
            check_library_counters();
        }
        if (sampler_) {
            sampler_->cancel();
        }
        good_->session().close();
        EXPECT_TRUE(good_->wait_idle(wd_.remaining() + 5s));
        if (proc_) {
            EXPECT_TRUE(proc_->stop(ioc_, wd_));
        }
        if (lib_) {
            EXPECT_TRUE(lib_->stop(wd_.remaining() + 5s));
        }
    }

    [[nodiscard]] tcp::endpoint endpoint() const {
        return proc_ ? proc_->endpoint() : lib_->endpoint();
    }
    [[nodiscard]] int version() const noexcept {
        return opts_.version;
    }

    /// SYN and per_stream bytes of PSH (32 KiB frames) for peer streams 3, 5, ... Built before
    /// the server starts: in sanitizer builds that takes longer than a short keep-alive
    /// timeout, during which neither the attacker nor the well-behaved client (same event
    /// loop) would send anything and both would rightly be dropped.
    [[nodiscard]] static bytes streams_burst(int version, std::uint32_t streams,
                                             std::size_t per_stream) {
        bytes burst;
        for (std::uint32_t i = 0; i < streams; ++i) {
            auto const f = cat({syn(version, 3 + 2 * i),
                                psh_stream(version, 3 + 2 * i, per_stream, 32 * 1024, i)});
            burst.insert(burst.end(), f.begin(), f.end());
        }
        return burst;
    }

    raw_peer& attacker() {
        peers_.push_back(std::make_unique<raw_peer>(
            ioc_, opts_.version, static_cast<std::size_t>(opts_.max_frame_size)));
        attacker_ports_.push_back(0);
        return *peers_.back();
    }

    ::testing::AssertionResult connect(raw_peer& a, int receive_buffer = 0) {
        auto r = a.connect(endpoint(), receive_buffer);
        for (std::size_t i = 0; i < peers_.size(); ++i) {
            if (peers_[i].get() == &a) {
                attacker_ports_[i] = a.port();
            }
        }
        return r;
    }

    // watched_loop: the loop, the server's counters sampled after every step, its own work, and
    // the state of the attack and the server for a failure.
    asio::io_context& loop() override {
        return ioc_;
    }
    void sample() override {
        if (lib_) {
            lib_->sample();
        }
    }
    [[nodiscard]] std::uint64_t own_progress() const override {
        return server_progress();
    }
    void report(::testing::AssertionResult& r) const override {
        if (proc_) {
            r << "\nsmux-echo: VmRSS peak " << mib(max_rss_) << " (baseline " << mib(baseline_.rss)
              << ")";
        }
        for (std::size_t i = 0; i < peers_.size(); ++i) {
            raw_peer const& p = *peers_[i];
            r << "\nattacker " << i << ": sent " << p.sent() << (p.idle() ? "" : " (writing)")
              << ", received " << p.received() << " (" << p.in().frames << " frames, "
              << p.in().fin_order.size() << " FIN)";
        }
        if (lib_) {
            for (auto const& e : lib_->sessions()) {
                r << "\nsession from port " << e.peer_port << ": " << describe(e.last)
                  << (e.ended ? ", ended: " + e.ended->message() : std::string());
            }
        }
        if (proc_) {
            r << "\nsmux-echo stderr:\n" << proc_->log();
        }
    }

    /// The well-behaved session opens a stream and gets its echo.
    ::testing::AssertionResult probe(std::size_t n = 4096) {
        start_probe(n);
        return finish_probe();
    }

    /// The same in two steps, so that the echo runs while the attack is sent.
    void start_probe(std::size_t n = 4096) {
        good_->start_echo(n, ++seed_);
    }

    ::testing::AssertionResult finish_probe() {
        int const want = good_->started();
        if (auto r = run([&] { return good_->echoes_done(); }, "the well-behaved echo"); !r) {
            return r;
        }
        if (auto r = good_->check(); !r) {
            return r;
        }
        if (good_->succeeded() != want) {
            return ::testing::AssertionFailure() << "well-behaved echo failed";
        }
        return ::testing::AssertionSuccess();
    }

    /// The message of the end of the session from `port`, once it ended.
    std::optional<std::string> ended(std::uint16_t port) {
        if (proc_) {
            return proc_->session_end(port);
        }
        auto* e = lib_->find(port);
        if (e == nullptr || !e->ended) {
            return std::nullopt;
        }
        return e->ended->message();
    }

    /// Waits for the end of the session from `port` and checks its error: the exact code in
    /// process, the logged message for smux-echo.
    ::testing::AssertionResult expect_end(std::uint16_t port, smux::error_code expected) {
        if (auto r = run([&] { return ended(port).has_value(); },
                         "the end of the attacker's session with: " + expected.message());
            !r) {
            return r;
        }
        if (lib_) {
            smux::error_code const got = *lib_->find(port)->ended;
            if (got != expected) {
                return ::testing::AssertionFailure()
                       << "session ended with [" << got.category().name() << ":" << got.value()
                       << "] " << got.message() << ", expected " << expected.message();
            }
        } else if (*ended(port) != expected.message()) {
            return ::testing::AssertionFailure() << "smux-echo logged '" << *ended(port)
                                                 << "', expected '" << expected.message() << "'";
        }
        return ::testing::AssertionSuccess();
    }

    /// SYN `sid` and PSH `msg`; waits for the echo: the attacker's session works.
    ::testing::AssertionResult open_and_echo(raw_peer& a, std::uint32_t sid,
                                             std::string const& msg) {
        a.send(cat({syn(version(), sid), psh(version(), sid, msg)}));
        if (auto r = run([&] { return a.in().size_of(sid) >= msg.size() || a.read_ended(); },
                         "the echo of stream " + std::to_string(sid));
            !r) {
            return r;
        }
        if (a.in().data_of(sid) != msg) {
            return ::testing::AssertionFailure()
                   << "echo of stream " << sid << ": '" << a.in().data_of(sid) << "'";
        }
        return ::testing::AssertionSuccess();
    }

    /** What the server did so far, as far as it can be seen from outside: smux-echo's
        resident memory (sampled every 10 ms: it grows with every stream it accepts), or the
        in-process sessions' frame and stream counters and the streams the application
        accepted. */
    [[nodiscard]] std::uint64_t server_progress() const {
        if (proc_) {
            return static_cast<std::uint64_t>(last_rss_);
        }
        std::uint64_t work = 0;
        for (auto const& e : lib_->sessions()) {
            work += e.last.frames_received + e.last.frames_sent + e.last.streams_accepted +
                    e.last.streams_refused + e.accepted.size();
        }
        return work;
    }

    lib_server::session_entry* lib_entry(std::uint16_t port) {
        return lib_ ? lib_->find(port) : nullptr;
    }

    /// The streams the attack can keep open, for the memory bound (default: 1).
    std::int64_t peer_streams_ = 1;

    asio::io_context ioc_;
    where where_ = where::library;
    server_options opts_;
    std::unique_ptr<server_process> proc_;
    std::unique_ptr<lib_server> lib_;
    std::unique_ptr<good_client> good_;
    std::vector<std::unique_ptr<raw_peer>> peers_;
    std::vector<std::uint16_t> attacker_ports_;

  private:
    void sample_memory() {
        if (auto m = read_memory(proc_->pid())) {
            max_rss_ = std::max(max_rss_, m->rss);
            last_rss_ = m->rss;
        }
        sampler_->expires_after(10ms);
        sampler_->async_wait([this](smux::error_code ec) {
            if (!ec) {
                sample_memory();
            }
        });
    }

    /** smux-echo's resident memory, sampled every 10 ms and as VmHWM (the kernel's peak),
        minus the baseline taken after the well-behaved session's first echo, must stay under
        the session bound of SECURITY.md for the attacker's session, plus smux-echo's own
        per-stream need (echo_stream_bytes: its echo buffer and coroutine frames) for the
        streams the attack opens. */
    void check_process_memory() {
        auto const m = read_memory(proc_->pid());
        ASSERT_TRUE(m.has_value());
        max_rss_ = std::max(max_rss_, m->rss);
        std::int64_t const peak = std::max(max_rss_, m->hwm);
        std::int64_t const growth = peak - baseline_.rss;
        std::int64_t const bound =
            session_memory_bound(opts_, peer_streams_) + peer_streams_ * echo_stream_bytes;
        std::ostringstream line;
        line << "smux-echo memory: baseline VmRSS " << mib(baseline_.rss) << ", peak " << mib(peak)
             << " (sampled VmRSS " << mib(max_rss_) << ", VmHWM " << mib(m->hwm) << "), growth "
             << mib(growth) << ", bound " << mib(bound) << " for " << peer_streams_
             << " attacker stream(s)";
        std::cout << "[ memory   ] " << line.str() << '\n';
        RecordProperty("rss_baseline_bytes", std::to_string(baseline_.rss));
        RecordProperty("rss_growth_bytes", std::to_string(growth));
        RecordProperty("rss_bound_bytes", std::to_string(bound));
        if (!sanitized) {
            EXPECT_LE(growth, bound) << line.str();
        }
    }

    /// SECURITY.md: unread payload <= max_receive_buffer + 65535; streams <= max_streams (and
    /// no more than the attack opened). Peaks are sampled after every event-loop step.
    void check_library_counters() {
        lib_->sample();
        for (auto const& e : lib_->sessions()) {
            bool const is_attacker = std::find(attacker_ports_.begin(), attacker_ports_.end(),
                                               e.peer_port) != attacker_ports_.end();
            EXPECT_LE(e.max_buffered, static_cast<std::uint64_t>(opts_.max_receive_buffer + 65'535))
                << "session from port " << e.peer_port;
            EXPECT_LE(e.max_open, static_cast<std::uint64_t>(opts_.max_streams))
                << "session from port " << e.peer_port;
            if (is_attacker) {
                EXPECT_LE(e.max_open, static_cast<std::uint64_t>(peer_streams_))
                    << "attacker session from port " << e.peer_port;
            }
        }
    }

    std::uint64_t seed_ = 0;
    memory_sample baseline_;
    std::int64_t max_rss_ = 0;
    std::int64_t last_rss_ = 0;  ///< the latest sample
    std::unique_ptr<asio::steady_timer> sampler_;
};

// ---------------------------------------------------------------------------------------------
// Protocol violations: the session ends with the specific error and closes the connection.

struct violation {
    where target;
    int version;
    std::string name;
    bytes frames;  ///< sent after a working exchange on stream 3
    smux::error expected;
};

std::vector<violation> violations() {
    std::vector<violation> out;
    for (where w : targets()) {
        for (int v : {1, 2}) {
            auto add = [&](std::string name, bytes frames, smux::error e) {
                out.push_back({w, v, std::move(name), std::move(frames), e});
            };
            add("other_version", header(3 - v, cmd::nop, 0, 0), smux::error::invalid_version);
            add("version_255", header(255, cmd::syn, 0, 5), smux::error::invalid_version);
            add("unknown_command_5", header(v, 5, 0, 3), smux::error::unknown_command);
            add("unknown_command_255", header(v, 255, 0, 3), smux::error::unknown_command);
            add("syn_with_the_server_parity", syn(v, 4), smux::error::invalid_stream_id);
            add("syn_with_id_zero", syn(v, 0), smux::error::invalid_stream_id);
            add("syn_with_payload", frame(v, cmd::syn, 5, bytes(8)),
                smux::error::invalid_frame_length);
            add("fin_with_payload", frame(v, cmd::fin, 3, bytes(4)),
                smux::error::invalid_frame_length);
            add("nop_with_payload", frame(v, cmd::nop, 0, bytes(1)),
                smux::error::invalid_frame_length);
            if (v == 1) {
                add("update_in_version_1", upd(1, 3, 5, 65'536), smux::error::unexpected_update);
            } else {
                add("short_update", frame(2, cmd::upd, 3, bytes(4)),
                    smux::error::invalid_frame_length);
                add("long_update", frame(2, cmd::upd, 3, bytes(9)),
                    smux::error::invalid_frame_length);
                // The server sent 5 bytes on stream 3 (the echo); 1000 were never sent.
                add("update_acknowledging_unsent_bytes", upd(2, 3, 1000, 65'536),
                    smux::error::invalid_window_update);
            }
        }
    }
    return out;
}

void PrintTo(violation const& v, std::ostream* os) {
    *os << where_name(v.target) << " v" << v.version << " " << v.name;
}

class protocol_violation : public hostile_base, public ::testing::WithParamInterface<violation> {};

TEST_P(protocol_violation, ends_the_session_with_the_specific_error) {
    violation const& c = GetParam();
    server_options opts;
    opts.version = c.version;
    ASSERT_TRUE(start(c.target, opts));
    raw_peer& a = attacker();
    ASSERT_TRUE(connect(a));
    a.start_reading();
    ASSERT_TRUE(open_and_echo(a, 3, "hello"));

    start_probe(256 * 1024);  // the well-behaved echo runs during the attack
    a.send(c.frames);
    ASSERT_TRUE(expect_end(a.port(), c.expected));
    ASSERT_TRUE(finish_probe());
    // The server closed the connection.
    ASSERT_TRUE(run([&] { return a.read_ended(); }, "the server closing the connection"));
    EXPECT_TRUE(a.read_error() == asio::error::eof ||
                a.read_error() == asio::error::connection_reset)
        << a.read_error().message();
    EXPECT_EQ(a.in().malformed, "");
    // Other sessions are unaffected.
    ASSERT_TRUE(probe());
    if (auto* e = lib_entry(a.port())) {
        EXPECT_TRUE(*e->ended == smux::condition::protocol_violation);
        EXPECT_FALSE(e->session->is_open());
    }
}

INSTANTIATE_TEST_SUITE_P(frames, protocol_violation, ::testing::ValuesIn(violations()),
                         [](::testing::TestParamInfo<violation> const& i) {
                             return where_name(i.param.target) + "_v" +
                                    std::to_string(i.param.version) + "_" + i.param.name;
                         });

// ---------------------------------------------------------------------------------------------
// Frames the Go reference ignores or accepts: the session stays usable.

struct tolerated {
    where target;
    int version;
    std::string name;
    bytes frames;      ///< sent after SYN 3, before PSH 3 "check" and FIN 3 (one write)
    std::string echo;  ///< what stream 3 echoes before "check"
    std::int64_t server_max_frame = 32'768;
};

std::vector<tolerated> tolerated_frames() {
    std::vector<tolerated> out;
    for (where w : targets()) {
        for (int v : {1, 2}) {
            auto add = [&](std::string name, bytes frames, std::string echo,
                           std::int64_t max_frame = 32'768) {
                out.push_back(
                    {w, v, std::move(name), std::move(frames), std::move(echo), max_frame});
            };
            add("psh_for_streams_never_opened",
                cat({psh(v, 7, random_bytes(1000, 7)), psh(v, 2, "x"), psh(v, 0, "y")}), "");
            add("fin_for_a_stream_never_opened", fin(v, 9), "");
            add("duplicate_syn", syn(v, 3), "");
            add("zero_length_psh", header(v, cmd::psh, 0, 3), "");
            add("nop_with_a_stream_id", header(v, cmd::nop, 0, 12'345), "");
            // PSH after FIN on a live stream (and a duplicate FIN): accepted, as Go.
            add("data_after_fin",
                cat({psh(v, 3, "a"), fin(v, 3), psh(v, 3, "b"), fin(v, 3), psh(v, 3, "c")}), "abc");
            // Only the 16-bit field bounds a PSH, not the receiver's own max_frame_size.
            bytes const big = random_bytes(65'535, 65);
            add("psh_longer_than_the_server_max_frame_size", psh(v, 3, big), to_string(big), 1024);
            if (v == 2) {
                add("upd_for_a_stream_never_opened", upd(2, 11, 0, 65'536), "");
            }
        }
    }
    return out;
}

void PrintTo(tolerated const& t, std::ostream* os) {
    *os << where_name(t.target) << " v" << t.version << " " << t.name;
}

class tolerated_frame : public hostile_base, public ::testing::WithParamInterface<tolerated> {};

TEST_P(tolerated_frame, is_ignored_or_accepted_as_go_does) {
    tolerated const& c = GetParam();
    server_options opts;
    opts.version = c.version;
    opts.max_frame_size = c.server_max_frame;
    ASSERT_TRUE(start(c.target, opts));
    peer_streams_ = 2;
    raw_peer& a = attacker();
    ASSERT_TRUE(connect(a));
    a.start_reading();

    a.send(cat({syn(c.version, 3), c.frames, psh(c.version, 3, "check"), fin(c.version, 3)}));
    ASSERT_TRUE(run([&] { return a.in().fin_count(3) > 0 || a.read_ended(); },
                    "the echo of stream 3 and its FIN"));
    EXPECT_EQ(a.in().data_of(3), c.echo + "check");
    EXPECT_EQ(a.in().fin_count(3), 1);
    EXPECT_EQ(a.in().malformed, "");  // also: no PSH above the server's max_frame_size

    // Still usable: a second stream echoes, and only the opened streams ever existed.
    ASSERT_TRUE(open_and_echo(a, 5, "again"));
    ASSERT_TRUE(probe());
    EXPECT_FALSE(ended(a.port()).has_value()) << *ended(a.port());
    EXPECT_FALSE(a.read_ended());
    EXPECT_EQ(a.in().data.size(), 2U);  // no echo on any other stream id
    if (auto* e = lib_entry(a.port())) {
        EXPECT_EQ(e->last.streams_accepted, 2U);
        EXPECT_EQ(e->accepted, (std::vector<std::uint32_t>{3, 5}));
        EXPECT_TRUE(e->session->is_open());
    }
}

INSTANTIATE_TEST_SUITE_P(frames, tolerated_frame, ::testing::ValuesIn(tolerated_frames()),
                         [](::testing::TestParamInfo<tolerated> const& i) {
                             return where_name(i.param.target) + "_v" +
                                    std::to_string(i.param.version) + "_" + i.param.name;
                         });

// ---------------------------------------------------------------------------------------------
// Resource attacks, per target and version.

struct placement {
    where target;
    int version;
};

void PrintTo(placement const& p, std::ostream* os) {
    *os << where_name(p.target) << " v" << p.version;
}

std::vector<placement> placements(std::vector<int> const& versions = {1, 2}) {
    std::vector<placement> out;
    for (where w : targets()) {
        for (int v : versions) {
            out.push_back({w, v});
        }
    }
    return out;
}

std::string placement_name(::testing::TestParamInfo<placement> const& i) {
    return where_name(i.param.target) + "_v" + std::to_string(i.param.version);
}

class hostile : public hostile_base, public ::testing::WithParamInterface<placement> {
  protected:
    server_options options() const {
        server_options o;
        o.version = GetParam().version;
        return o;
    }
    static server_options short_keepalive(server_options o) {
        o.keepalive_ms = std::pair{static_cast<int>(short_keepalive_interval.count()),
                                   static_cast<int>(short_keepalive_timeout.count())};
        return o;
    }
};

/// The keep-alive timeout of short_keepalive, in ms.
constexpr std::int64_t timeout_ms = short_keepalive_timeout.count();

bytes prefix(bytes b, std::size_t n) {
    b.resize(n);
    return b;
}

/// The slowloris pacer: one byte every 100 ms until stopped. Its handler owns the state, so it
/// may outlive the test body; the attacker belongs to the fixture, which outlives the loop.
struct trickle {
    explicit trickle(asio::io_context& ioc) : timer(ioc) {}
    asio::steady_timer timer;
    bool stop = false;
    int sent = 0;
};

void pace(std::shared_ptr<trickle> const& t, raw_peer* a) {
    t->timer.expires_after(100ms);
    // allowed-sleep: the attack itself is paced: one byte every 100 ms
    t->timer.async_wait([t, a](smux::error_code ec) {
        if (ec || t->stop || a->write_error() || a->read_ended()) {
            return;
        }
        a->send(bytes{static_cast<std::byte>(static_cast<std::uint8_t>(t->sent++))});
        pace(t, a);
    });
}

// A peer opens 100,000 streams and never sends data nor reads. The accept backlog (1024) and
// the open-stream limit hold: the server opens max_streams streams (smux-echo: 65536, the
// default; in process: 4096), refuses every further SYN with a FIN in order, keeps serving
// others, and its memory stays within the bound for max_streams streams.
TEST_P(hostile, syn_flood_without_data_or_reading) {
    server_options opts = options();
    if (GetParam().target == where::library) {
        opts.max_streams = 4096;
    }
    ASSERT_TRUE(start(GetParam().target, opts));
    raw_peer& a = attacker();
    ASSERT_TRUE(connect(a));

    constexpr std::uint32_t syns = 100'000;
    bytes flood;
    flood.reserve(syns * 8U);
    for (std::uint32_t i = 0; i < syns; ++i) {
        auto const f = syn(version(), 3 + 2 * i);
        flood.insert(flood.end(), f.begin(), f.end());
    }
    auto const limit = static_cast<std::uint32_t>(opts.max_streams);
    peer_streams_ = limit;
    a.send(std::move(flood));

    // During the flood (the attacker reads nothing yet): another session is served.
    ASSERT_TRUE(probe());

    // Only now the attacker reads, to check the refusals: one FIN per SYN beyond the limit,
    // in the order of the SYNs, and nothing else but keep-alives.
    a.start_reading();
    ASSERT_TRUE(run([&] { return a.idle() && a.in().fin_order.size() >= syns - limit; },
                    [&] { return a.sent() + a.received(); },
                    "every SYN sent and every refused SYN answered with FIN"));
    std::vector<std::uint32_t> expected;
    for (std::uint32_t i = limit; i < syns; ++i) {
        expected.push_back(3 + 2 * i);
    }
    EXPECT_TRUE(a.in().fin_order == expected)
        << a.in().fin_order.size() << " FINs, first " << a.in().fin_order.front();
    EXPECT_EQ(a.in().data.size(), 0U);
    EXPECT_EQ(a.in().malformed, "");
    EXPECT_FALSE(ended(a.port()).has_value());
    ASSERT_TRUE(probe());
    if (auto* e = lib_entry(a.port())) {
        // The application's accept loop catches up with the session's backlog.
        ASSERT_TRUE(run([&] { return e->accepted.size() >= limit; }, "every stream accepted"));
        EXPECT_EQ(e->last.streams_accepted, limit);
        EXPECT_EQ(e->last.streams_refused, syns - limit);
        EXPECT_EQ(e->last.streams_open, limit);
        ASSERT_EQ(e->accepted.size(), limit);
        for (std::uint32_t i = 0; i < limit; ++i) {
            ASSERT_EQ(e->accepted[i], 3 + 2 * i) << "accept order at " << i;
        }
    }
}

// A peer sends on many streams and never reads the echoes. It sends 4 MiB more than the
// largest TCP send buffer (tcp_wmem's maximum, 4 MiB by default: the server's send buffer
// autotunes up to it), so the server's echo writers block; memory stays bounded; and once the
// attacker is silent the session ends with keepalive_timeout: its unread data (about 4 MiB)
// stayed under the receive budget (set to twice the attack), so the session was never paused
// by its own limits.
TEST_P(hostile, peer_that_never_reads_the_echoes) {
    std::int64_t const total = tcp_send_buffer_max() + 4 * MiB;
    constexpr std::size_t per_stream = 128 * 1024;  // under the v2 initial window
    auto const streams = static_cast<std::uint32_t>(total / static_cast<std::int64_t>(per_stream));
    server_options opts = short_keepalive(options());
    opts.max_receive_buffer = 2 * total;
    bytes burst = streams_burst(opts.version, streams, per_stream);
    ASSERT_TRUE(start(GetParam().target, opts));
    raw_peer& a = attacker();
    ASSERT_TRUE(connect(a, 16 * 1024));  // a small receive window: the echoes back up soon
    peer_streams_ = streams;
    a.send(std::move(burst));
    ASSERT_TRUE(run([&] { return a.idle(); }, "the server taking every byte"));
    EXPECT_FALSE(a.write_error()) << a.write_error().message();
    ASSERT_TRUE(probe());  // during the attack

    ASSERT_TRUE(expect_end(a.port(), smux::error::keepalive_timeout));
    ASSERT_TRUE(probe());
    if (auto* e = lib_entry(a.port())) {
        EXPECT_GE(e->echo_writes.peak, 1);  // writers were blocked
        EXPECT_LT(e->last.bytes_sent, streams * per_stream) << "the echoes were not all sent";
        EXPECT_GT(e->max_buffered, 1U * MiB) << "the blocked writers stopped reading their streams";
    }
}

// A peer that never reads and sends more than the receive budget (1 MiB here) while the
// application's echo writers wait for that peer: the session stops reading at the budget and,
// paused by its own limit, is NOT ended by keep-alive (Go's rule, SECURITY.md "Liveness"). The
// peer holds the session and its buffered data for as long as the application's writes wait;
// memory stays within the bound. (Only a stream write timeout or an application deadline would
// end it; smux-echo sets none.)
TEST_P(hostile, peer_that_never_reads_and_fills_the_budget_is_held_not_timed_out) {
    // More than both sockets' buffers can hold besides the budget: the attacker's write blocks.
    std::int64_t const total = tcp_send_buffer_max() + tcp_receive_buffer_max() + 4 * MiB;
    constexpr std::size_t per_stream = 128 * 1024;
    auto const streams = static_cast<std::uint32_t>(total / static_cast<std::int64_t>(per_stream));
    server_options opts = short_keepalive(options());
    opts.max_receive_buffer = 1 * MiB;
    bytes burst = streams_burst(opts.version, streams, per_stream);
    ASSERT_TRUE(start(GetParam().target, opts));
    raw_peer& a = attacker();
    ASSERT_TRUE(connect(a, 16 * 1024));
    peer_streams_ = streams;
    a.send(std::move(burst));
    ASSERT_TRUE(probe());

    // Three keep-alive timeouts: the session does not end, and the attacker's write stays
    // held by TCP back-pressure (the server stopped reading at its budget). That the paused
    // session reads nothing at all is asserted exactly, on its counters, in library_limits.
    auto observe = [&](clock::duration d) {
        asio::steady_timer t(ioc_, d);
        bool passed = false;
        t.async_wait([&](smux::error_code) { passed = true; });
        // allowed-sleep: showing that keep-alive does NOT end a paused session takes time
        return run([&] { return passed || ended(a.port()).has_value(); }, "an observation window");
    };
    ASSERT_TRUE(observe(3 * short_keepalive_timeout));
    EXPECT_FALSE(ended(a.port()).has_value()) << *ended(a.port());
    EXPECT_FALSE(a.idle()) << "the attacker's write is held by TCP back-pressure";
    EXPECT_LT(a.sent(), static_cast<std::uint64_t>(total));
    ASSERT_TRUE(probe());
    if (auto* e = lib_entry(a.port())) {
        EXPECT_TRUE(e->session->is_open());
        EXPECT_GE(e->max_buffered, static_cast<std::uint64_t>(opts.max_receive_buffer));
        EXPECT_GE(e->echo_writes.peak, 1);
    }
}

// A peer that connects and sends nothing is dropped by keep-alive, no sooner than the timeout.
TEST_P(hostile, silent_peer_is_timed_out) {
    ASSERT_TRUE(start(GetParam().target, short_keepalive(options())));
    raw_peer& a = attacker();
    auto const t0 = clock::now();
    ASSERT_TRUE(connect(a));
    ASSERT_TRUE(probe());  // during the attack
    ASSERT_TRUE(expect_end(a.port(), smux::error::keepalive_timeout));
    auto const elapsed = ms_since(t0);
    EXPECT_GE(elapsed, timeout_ms);
    ASSERT_TRUE(probe());
}

// A peer that vanished without FIN: after a working exchange it neither reads nor writes
// (its stream stays open, the TCP connection stays established). Keep-alive ends it.
TEST_P(hostile, half_open_peer_is_timed_out) {
    ASSERT_TRUE(start(GetParam().target, short_keepalive(options())));
    raw_peer& a = attacker();
    ASSERT_TRUE(connect(a));
    a.start_reading();
    auto const last_frame = clock::now();
    ASSERT_TRUE(open_and_echo(a, 3, "hello"));
    a.stop_reading();  // the peer is gone: nothing is read or written from now on
    ASSERT_TRUE(probe());
    ASSERT_TRUE(expect_end(a.port(), smux::error::keepalive_timeout));
    auto const elapsed = ms_since(last_frame);
    EXPECT_GE(elapsed, timeout_ms);
    ASSERT_TRUE(probe());
}

// Slowloris: a PSH header announcing 65535 bytes, then one payload byte every 100 ms.
// Outcome (Go's rule, docs/protocol.md §7): liveness counts complete frame headers, not
// bytes, so the session is ended by keep-alive (short_keepalive) while bytes still arrive. The
// partial frame costs no more than one receive block; other sessions are unaffected.
TEST_P(hostile, slowloris_is_ended_by_keepalive_while_bytes_still_arrive) {
    ASSERT_TRUE(start(GetParam().target, short_keepalive(options())));
    raw_peer& a = attacker();
    ASSERT_TRUE(connect(a));
    a.start_reading();
    ASSERT_TRUE(open_and_echo(a, 3, "hello"));
    a.send(header(version(), cmd::psh, 65'535, 3));
    auto const header_sent = clock::now();
    auto* const e0 = lib_entry(a.port());
    std::uint64_t const frames_before = e0 != nullptr ? e0->last.frames_received : 0;
    std::uint64_t const bytes_before = e0 != nullptr ? e0->last.bytes_received : 0;

    auto const slow = std::make_shared<trickle>(ioc_);
    pace(slow, &a);
    ASSERT_TRUE(probe());  // during the attack
    ASSERT_TRUE(expect_end(a.port(), smux::error::keepalive_timeout));
    auto const elapsed = ms_since(header_sent);
    int const trickled_before_end = slow->sent;
    slow->stop = true;
    slow->timer.cancel();
    EXPECT_GE(trickled_before_end, 2) << "payload bytes were arriving when keep-alive fired";
    EXPECT_GE(elapsed, timeout_ms);
    if (auto* e = lib_entry(a.port())) {
        // Bytes arrived after the last complete header, and did not count as liveness.
        EXPECT_EQ(e->last.frames_received, frames_before + 1);
        EXPECT_GE(e->last.bytes_received, bytes_before + 8 + 2);
        EXPECT_LE(e->max_buffered, 5U + static_cast<std::uint64_t>(trickled_before_end));
    }
    ASSERT_TRUE(probe());
}

// Truncated frames, then the peer closes its side: the session ends with connection_closed,
// no crash, and the server keeps serving.
TEST_P(hostile, truncated_frame_then_close) {
    ASSERT_TRUE(start(GetParam().target, options()));
    int const v = version();
    std::vector<std::pair<std::string, bytes>> cuts{
        {"five header bytes", prefix(header(v, cmd::psh, 100, 3), 5)},
        {"three bytes of a SYN", prefix(syn(v, 5), 3)},
        {"PSH announcing 1000 bytes, 10 sent", with_payload(header(v, cmd::psh, 1000, 3), 10, 'z')},
        {"PSH header only", header(v, cmd::psh, 65'535, 3)},
    };
    if (v == 2) {
        cuts.emplace_back("UPD with 3 of its 8 payload bytes", prefix(upd(2, 3, 1, 0), 8 + 3));
    }
    for (auto const& [what, cut] : cuts) {
        SCOPED_TRACE(what);
        raw_peer& a = attacker();
        ASSERT_TRUE(connect(a));
        a.start_reading();
        ASSERT_TRUE(open_and_echo(a, 3, "hello"));
        a.send(cut);
        ASSERT_TRUE(run([&] { return a.idle(); }, "the truncated frame sent"));
        a.shutdown_send();
        ASSERT_TRUE(expect_end(a.port(), smux::error::connection_closed));
        ASSERT_TRUE(run([&] { return a.read_ended(); }, "the server closing the connection"));
        EXPECT_EQ(a.in().malformed, "");
        ASSERT_TRUE(probe());
    }
}

INSTANTIATE_TEST_SUITE_P(attacks, hostile, ::testing::ValuesIn(placements()), placement_name);

// v2: a peer that keeps sending on a stream whose echo it never reads (so it never grants
// the server window and the server's reads, and thus its window updates, stop) overruns the
// window the server ever allowed: window_overrun.
class hostile_v2 : public hostile {};

TEST_P(hostile_v2, sending_past_the_window_is_window_overrun) {
    ASSERT_TRUE(start(GetParam().target, options()));
    raw_peer& a = attacker();
    ASSERT_TRUE(connect(a));
    // The server may have granted at most v2_initial_window + (16 KiB read + 65536) before its
    // echo blocked on the attacker's window of v2_initial_window: 1 MiB is more than that.
    a.send(cat({syn(2, 3), psh_stream(2, 3, 1 * MiB, 32 * 1024, 3)}));
    ASSERT_TRUE(expect_end(a.port(), smux::error::window_overrun));
    ASSERT_TRUE(probe());
}

INSTANTIATE_TEST_SUITE_P(attacks, hostile_v2, ::testing::ValuesIn(placements({2})), placement_name);

}  // namespace
