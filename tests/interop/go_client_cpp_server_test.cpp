// Go client <-> C++ server: every scenario run by `smuxpeer client --scenario NAME` (a child
// process) against the in-process C++ command server. The Go client checks what it can see
// and reports it as JSON; the C++ server records the rest (half-close, keep-alive, errors).

#include <string>
#include <vector>

#include "command_server.hpp"
#include "interop_fixture.hpp"

namespace interop {

namespace {

class GoClientCppServer : public interop_test {
  protected:
    [[nodiscard]] char const* pairing() const override { return "GoClientCppServer"; }

    /// Runs the Go client scenario against `server` and checks that it passed.
    go_client_result run_go(command_server& server, std::string const& scenario,
                            smux::config const& go_cfg, std::vector<std::string> extra,
                            milliseconds deadline) {
        auto const start = clock::now();
        go_client_result r =
            run_go_client(server.port(), scenario, go_cfg, std::move(extra), deadline);
        auto const ms = std::chrono::duration_cast<milliseconds>(clock::now() - start).count();
        std::printf("Go client (%lld ms): %s\n", static_cast<long long>(ms), r.line.c_str());
        EXPECT_TRUE(r.finished) << context() << ": the Go client (scenario " << scenario
                                << ") did not exit within its deadline; killed";
        EXPECT_TRUE(r.ok()) << context() << ": the Go client reports failure (exit " << r.exit_code
                            << "): " << r.line << server_report(server);
        return r;
    }

    /// How the C++ server's sessions ended, and its failed streams (for failure messages).
    static std::string server_report(command_server& server) {
        // The Go client has exited: give the server a moment to see its sessions end.
        (void)server.wait_sessions_ended(server.sessions().size(), 2s);
        std::string out = "\nC++ server sessions:";
        for (auto const& s : server.sessions()) {
            out += s.ended ? " ended with " + describe(s.terminal) + ";" : " open;";
        }
        int shown = 0;
        for (auto const& st : server.streams_all()) {
            if (!st.ok && shown++ < 5) {
                out += "\nC++ server stream \"" + st.command + "\": " + st.detail;
            }
        }
        return out;
    }

    /// The single session of `server`, once it ended.
    session_outcome ended_session(command_server& server, milliseconds timeout) {
        EXPECT_TRUE(server.wait_sessions_ended(1, timeout))
            << context() << ": the C++ server session did not end within " << timeout.count()
            << " ms";
        auto const all = server.sessions();
        EXPECT_EQ(all.size(), 1U) << context() << ": sessions on the C++ server";
        return all.empty() ? session_outcome{} : all.front();
    }

    /// The single record of `verb` streams on `server`.
    stream_outcome only_stream(command_server& server, std::string const& verb) {
        EXPECT_TRUE(server.wait_streams(verb, 1, budget(10s)))
            << context() << ": the C++ server never finished a \"" << verb << "\" stream";
        auto const all = server.streams(verb);
        EXPECT_EQ(all.size(), 1U) << context() << ": \"" << verb << "\" streams";
        return all.empty() ? stream_outcome{} : all.front();
    }

    static std::string sizes_list() {
        std::string list;
        for (std::size_t n : frame_test_sizes) {
            list += (list.empty() ? "" : ",") + std::to_string(n);
        }
        return list;
    }
};

TEST_P(GoClientCppServer, RoundTrip) {
    auto const cfg = base_config();
    command_server server(cfg);
    run_go(server, "roundtrip", cfg, {"--bytes", std::to_string(roundtrip_bytes)}, budget(20s));
}

TEST_P(GoClientCppServer, ConcurrentStreams) {
    auto const cfg = base_config();
    command_server server(cfg);
    auto const r = run_go(server, "concurrent", cfg,
                          {"--streams", std::to_string(concurrent_streams), "--payload-max",
                           std::to_string(concurrent_payload_max)},
                          budget(60s));
    EXPECT_EQ(r.field("failed"), "0") << context();
}

TEST_P(GoClientCppServer, BulkUpload) {
    auto const cfg = base_config();
    command_server server(cfg);
    std::int64_t const n = bulk_bytes();
    auto const r = run_go(server, "bulk-upload", cfg, {"--bytes", std::to_string(n)},
                          budget(milliseconds(30'000 + n / 1'000)));
    // The Go client compared the digests; the C++ server's record must agree.
    auto const sink = only_stream(server, "sink");
    EXPECT_TRUE(sink.ok) << context() << ": " << sink.detail;
    EXPECT_EQ(sink.received, static_cast<std::uint64_t>(n)) << context();
    EXPECT_EQ(sink.received_sha, r.field("sha")) << context();
}

TEST_P(GoClientCppServer, BulkDownload) {
    auto const cfg = base_config();
    command_server server(cfg);
    std::int64_t const n = bulk_bytes();
    run_go(server, "bulk-download", cfg, {"--bytes", std::to_string(n)},
           budget(milliseconds(30'000 + n / 1'000)));
}

TEST_P(GoClientCppServer, FrameSizes) {
    for (auto const& [cpp_frame, go_frame] : {std::pair{32768, 65535}, std::pair{65535, 32768}}) {
        SCOPED_TRACE("C++ max_frame_size " + std::to_string(cpp_frame) + ", Go MaxFrameSize " +
                     std::to_string(go_frame));
        auto cfg = base_config();
        cfg.max_frame_size = cpp_frame;
        auto go_cfg = base_config();
        go_cfg.max_frame_size = go_frame;
        command_server server(cfg);
        run_go(server, "frames", go_cfg, {"--sizes", sizes_list()}, budget(30s));
    }
}

TEST_P(GoClientCppServer, HalfCloseCppSendsFinFirst) {
    // The C++ server sends "ok" and FIN first; the Go client reads to EOF, then writes after
    // that FIN and closes. The C++ side must receive every byte after its own FIN.
    auto const cfg = base_config();
    command_server server(cfg);
    std::int64_t const m = after_fin_bytes(version());
    auto const r =
        run_go(server, "peer-fin-first", cfg, {"--bytes", std::to_string(m)}, budget(30s));
    auto const rec = only_stream(server, "finfirst");
    EXPECT_TRUE(rec.ok) << context() << ": C++ server after its FIN: " << rec.detail;
    EXPECT_EQ(rec.received, static_cast<std::uint64_t>(m)) << context();
    EXPECT_EQ(rec.received_sha, r.field("sent_sha")) << context();
}

TEST_P(GoClientCppServer, HalfCloseGoSendsFinFirst) {
    // Closest honest scenario with Go v1.5.16: the Go client sends its request and closes
    // (FIN; Go forgets the stream). The C++ server reads to EOF and replies after the FIN:
    // its write must succeed, and the Go session must stay healthy (it drops those frames).
    auto const cfg = base_config();
    command_server server(cfg);
    std::int64_t const m = after_fin_bytes(version());
    auto const r = run_go(
        server, "self-fin-first", cfg,
        {"--bytes", std::to_string(halfclose_request_bytes), "--reply-bytes", std::to_string(m)},
        budget(30s));
    auto const rec = only_stream(server, "halfclose");
    EXPECT_TRUE(rec.ok) << context() << ": C++ server: " << rec.detail;
    EXPECT_EQ(rec.received, static_cast<std::uint64_t>(halfclose_request_bytes)) << context();
    EXPECT_EQ(rec.received_sha, r.field("sent_sha")) << context();
    EXPECT_FALSE(rec.write_error) << context()
                                  << ": reply after the peer's FIN: " << describe(rec.write_error);
}

TEST_P(GoClientCppServer, SlowReader) {
    auto const cfg = base_config();
    command_server server(cfg);
    auto const r = run_go(server, "slow", cfg,
                          {"--bytes", std::to_string(slow_stream_bytes(version())), "--other-bytes",
                           std::to_string(slow_other_bytes)},
                          budget(60s));
    if (version() == 2) {
        // The C++ reader read nothing, so it must not have opened the window beyond the
        // initial 256 KiB (the Go client checks this too).
        EXPECT_EQ(r.field("writer_finished_while_blocked"), "false") << context();
        EXPECT_LE(std::stoll("0" + r.field("blocked_progress")), v2_initial_window) << context();
    }
}

TEST_P(GoClientCppServer, Churn) {
    auto const cfg = base_config();
    command_server server(cfg);
    auto const r = run_go(
        server, "churn", cfg,
        {"--streams", std::to_string(churn_streams), "--workers", std::to_string(churn_workers)},
        budget(120s));
    if (!r.ok()) {
        return;  // reported above; the C++ server's records cannot be complete
    }
    EXPECT_EQ(r.field("peer_streams_after"), "1")
        << context() << ": streams left on the C++ server (the stats stream itself is 1)";
    EXPECT_TRUE(server.wait_streams("echo", churn_streams, budget(10s)))
        << context() << ": the C++ server finished " << server.streams("echo").size() << " of "
        << churn_streams << " echo streams";
}

TEST_P(GoClientCppServer, KeepaliveIdle) {
    auto const cfg = keepalive_config();
    command_server server(cfg);
    run_go(server, "idle", cfg, {"--idle", std::to_string(idle_period.count())}, budget(20s));
    // The session lived until the Go client closed it at its exit: with FIN, or with RST when
    // one of our keep-alive NOPs was still unread in its socket (the kernel's rule for a close
    // with unread data). Either way not by keep-alive.
    auto const s = ended_session(server, budget(5s));
    EXPECT_TRUE(s.terminal == smux::error::connection_closed ||
                s.terminal == asio::error::connection_reset)
        << context() << ": the C++ session ended with " << describe(s.terminal);
    // Go pinged every 100 ms during the idle period.
    EXPECT_GE(s.stats.frames_received, 10U) << context();
}

TEST_P(GoClientCppServer, KeepaliveTimeout) {
    auto const cfg = keepalive_config();
    command_server server(cfg);
    auto go_cfg = base_config();
    go_cfg.keep_alive_disabled = true;  // the Go client sends no NOP
    run_go(server, "silent", go_cfg,
           {"--active", std::to_string(active_period.count()), "--silence",
            std::to_string(silence_period.count())},
           budget(30s));
    auto const s = ended_session(server, budget(5s));
    EXPECT_EQ(s.terminal, smux::error::keepalive_timeout)
        << context() << ": the C++ session ended with " << describe(s.terminal);
}

TEST_P(GoClientCppServer, PeerClosesSession) {
    auto const cfg = base_config();
    command_server server(cfg);
    auto const r = run_go(server, "peer-closes-session", cfg, {}, budget(30s));
    auto const s = ended_session(server, budget(5s));
    EXPECT_EQ(s.terminal, smux::error::session_closed)
        << context() << ": the C++ session ended with " << describe(s.terminal);
    for (char const* key : {"read_error", "close_stream_error", "accept_error", "write_error"}) {
        EXPECT_FALSE(r.field(key).empty()) << context() << ": the Go client reports no " << key;
        EXPECT_NE(r.field(key), "still pending") << context() << ": Go " << key;
    }
}

TEST_P(GoClientCppServer, VersionMismatch) {
    auto const cfg = base_config();
    command_server server(cfg);
    auto go_cfg = base_config();
    go_cfg.version = other_version();
    auto const r = run_go(server, "mismatch", go_cfg, {}, budget(20s));
    auto const s = ended_session(server, budget(5s));
    EXPECT_EQ(s.terminal, smux::error::invalid_version)
        << context() << ": the C++ session ended with " << describe(s.terminal);
    // The server's farewell NOP of its own version tells the Go client why: Go's receive
    // loop fails with ErrInvalidProtocol instead of seeing only the connection close.
    EXPECT_EQ(r.field("stream_error"), "invalid protocol")
        << context() << ": the Go client saw " << r.field("stream_error") << r.field("error");
}

INSTANTIATE_TEST_SUITE_P(InteropV1, GoClientCppServer, ::testing::Values(1), version_name);
INSTANTIATE_TEST_SUITE_P(InteropV2, GoClientCppServer, ::testing::Values(2), version_name);

}  // namespace

}  // namespace interop
