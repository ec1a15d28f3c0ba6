// kcp-go + smux (Go: go/kcppeer) against smux::kcp + smux::basic_session: a matrix of
// kcptun's settings in both directions, over loopback and through udp-relay's loss,
// reordering and duplication. Every row echoes 16 streams and one bulk stream; the bytes are a
// pattern both sides compute, so each end checks what it received byte by byte and the test
// checks what the other end reported.

#include <signal.h>

#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <smux/kcp/asio/compressed_stream.hpp>
#include <smux/session.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "kcp_asio/kcp_test_support.hpp"
#include "support/child_process.hpp"

// The bulk stream's size in MiB, set by CMakeLists.txt: 64, or 4 in sanitizer builds, which
// run many times slower, to keep CI's time budget.
#ifndef SMUX_KCP_INTEROP_BULK_MIB
#define SMUX_KCP_INTEROP_BULK_MIB 64
#endif

namespace {

using namespace kcp_asio_test;
using namespace asio::experimental::awaitable_operators;
using asio::awaitable;
using asio::use_awaitable;

constexpr std::uint64_t full_bulk = std::uint64_t{SMUX_KCP_INTEROP_BULK_MIB} << 20;
constexpr std::uint64_t small_bulk = 4 << 20;
constexpr int small_streams = 16;            // kcppeer -streams
constexpr std::uint64_t small_base = 65536;  // kcppeer -stream-bytes: stream i has this + 1021 i
constexpr std::size_t chunk = 65536;
/// How long one row may take before it fails (a hang, not a slow run: rows take seconds).
constexpr auto row_limit = 300s;
constexpr auto go_patience = 10s;
/// Both ends get it as kcptun's --key: not the default, so the rows show they derive the
/// same cipher key from any password.
constexpr char const* interop_key = "smux interop matrix";

// ---- the rows

enum class cpp_side { client, server };

struct row {
    char const* crypt;  ///< kcptun's --crypt; "null": no crypt header (options::crypt empty)
    std::size_t data_shards;
    std::size_t parity_shards;
    smux::kcp::mode mode;
    cpp_side cpp;
    int version;  ///< smux
    bool compress;
    std::uint64_t bulk;  ///< bytes of stream 0 (at most full_bulk)
    int loss_percent;    ///< 0: direct; else through udp-relay, with reordering and duplicates
};

constexpr auto normal = smux::kcp::mode::normal;
constexpr auto fast = smux::kcp::mode::fast;
constexpr auto fast2 = smux::kcp::mode::fast2;
constexpr auto fast3 = smux::kcp::mode::fast3;
constexpr auto cpp_client = cpp_side::client;
constexpr auto cpp_server = cpp_side::server;

/* The first six rows are a pairwise cover of FEC {off, 10/3} x mode {normal, fast, fast3} x
   direction x smux {v1, v2} x compression {off, on}: each mode has two rows whose four binary
   factors are complementary (so every mode meets both values of each), and the three pairs'
   binary patterns (off, client, v1, off) / (off, client, v2, on) / (off, server, v1, on) hold,
   for any two binary factors, both an equal and an unequal pair of values, which with the
   complements gives all four combinations. They carry the fast ciphers and the full bulk
   transfer. The other ciphers (and "null") get rows with a smaller bulk stream, to keep the
   matrix within CI's time: Go's blowfish, cast5 and sm4 move a few tens of MB/s, its 3des
   a few. The lossy rows go through udp-relay at 1%, 5% and 20% loss each way, with
   reordering and duplicates, and the 20% one in both directions. */
// clang-format off
constexpr row rows[] = {
    // crypt      FEC     mode    C++ is      smux comp   bulk        loss %
    {"aes",        0, 0,  normal, cpp_client, 1,   false, full_bulk,  0},
    {"aes-128",   10, 3,  normal, cpp_server, 2,   true,  full_bulk,  0},
    {"aes-192",    0, 0,  fast,   cpp_client, 2,   true,  full_bulk,  0},
    {"salsa20",   10, 3,  fast,   cpp_server, 1,   false, full_bulk,  0},
    {"xor",        0, 0,  fast3,  cpp_server, 1,   true,  full_bulk,  0},
    {"none",      10, 3,  fast3,  cpp_client, 2,   false, full_bulk,  0},
    // the other ciphers, and fast2
    {"blowfish",  10, 3,  fast2,  cpp_client, 1,   true,  small_bulk, 0},
    {"cast5",      0, 0,  fast2,  cpp_server, 2,   false, small_bulk, 0},
    {"3des",      10, 3,  normal, cpp_server, 1,   false, 1 << 20,    0},
    {"sm4",        0, 0,  fast3,  cpp_client, 2,   true,  small_bulk, 0},
    {"null",      10, 3,  fast,   cpp_client, 1,   false, small_bulk, 0},
    // through udp-relay
    {"aes",       10, 3,  normal, cpp_server, 1,   true,  16 << 20,   1},
    {"salsa20",    0, 0,  fast,   cpp_client, 2,   false, 8 << 20,    5},
    {"aes",       10, 3,  fast3,  cpp_server, 2,   false, 2 << 20,    20},
    {"none",       0, 0,  fast3,  cpp_client, 1,   true,  2 << 20,    20},
};
// clang-format on

char const* mode_name(smux::kcp::mode m) {
    switch (m) {
        case normal:
            return "normal";
        case fast:
            return "fast";
        case fast2:
            return "fast2";
        case fast3:
            return "fast3";
    }
    return "?";
}

/// E.g. aes128_fec10x3_normal_cppserver_v2_comp, with _lossN for the lossy rows.
std::string row_name(row const& r) {
    std::string name;
    for (char const* c = r.crypt; *c != '\0'; ++c) {
        if (*c != '-') {
            name += *c;
        }
    }
    name += r.data_shards == 0
                ? "_nofec"
                : "_fec" + std::to_string(r.data_shards) + "x" + std::to_string(r.parity_shards);
    name += std::string("_") + mode_name(r.mode);
    name += r.cpp == cpp_server ? "_cppserver" : "_cppclient";
    name += "_v" + std::to_string(r.version);
    name += r.compress ? "_comp" : "_nocomp";
    if (r.loss_percent != 0) {
        name += "_loss" + std::to_string(r.loss_percent);
    }
    return name;
}

/// gtest prints a row (in ctest's test names, too) by its name rather than its bytes.
void PrintTo(row const& r, std::ostream* os) {
    *os << row_name(r);
}

std::uint64_t bulk_bytes(row const& r) {
    return std::min(r.bulk, full_bulk);
}

/// Bytes of stream `seed` (0: the bulk stream).
std::uint64_t stream_bytes(row const& r, std::uint64_t seed) {
    return seed == 0 ? bulk_bytes(r) : small_base + 1021 * seed;
}

smux::kcp::options kcp_options(row const& r) {
    smux::kcp::options o;  // kcptun's: windows 128/512, mtu 1350, 4 MiB socket buffers
    o.crypt = std::string(r.crypt) == "null" ? "" : r.crypt;
    o.data_shards = r.data_shards;
    o.parity_shards = r.parity_shards;
    o.mode = r.mode;
    o.key = interop_key;
    return o;
}

// ---- the pattern (kcppeer's `fill`)

/// Stream `seed`'s bytes from offset `pos`: 64 KiB blocks alternate between a compressible
/// ramp and splitmix64 noise, so compression sends both compressed and stored chunks.
void fill_pattern(std::uint64_t seed, std::uint64_t pos, std::span<std::byte> out) {
    pattern const noise(seed);
    while (!out.empty()) {
        std::size_t const n = std::min<std::uint64_t>(out.size(), 65536 - pos % 65536);
        auto const part = out.first(n);
        if (((pos >> 16) & 1) == 0) {
            for (std::size_t i = 0; i < n; ++i) {
                std::uint64_t const p = pos + i;
                part[i] = static_cast<std::byte>((p * 7 + (p >> 11) + seed) & 0xff);
            }
        } else {
            noise.fill(pos, part);
        }
        pos += n;
        out = out.subspan(n);
    }
}

/// FNV-1a 64 of stream `seed`'s first `n` bytes.
std::uint64_t digest(std::uint64_t seed, std::uint64_t n) {
    bytes buf(chunk);
    std::uint64_t h = fnv_offset;
    for (std::uint64_t at = 0; at < n;) {
        auto const part = std::span(buf).first(std::min<std::uint64_t>(chunk, n - at));
        fill_pattern(seed, at, part);
        h = fnv1a(h, part);
        at += part.size();
    }
    return h;
}

std::string hex16(std::uint64_t v) {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
    return text;
}

/// What kcppeer's client prints after checking every echo.
std::string expected_go_result(row const& r) {
    std::uint64_t total = 0;
    for (std::uint64_t i = 0; i <= small_streams; ++i) {
        total += stream_bytes(r, i);
    }
    return "ok streams=" + std::to_string(small_streams + 1) + " bytes=" + std::to_string(total) +
           " fnv=" + hex16(digest(0, bulk_bytes(r)));
}

/// (bytes, FNV-1a) of every stream, sorted.
std::vector<std::pair<std::uint64_t, std::uint64_t>> expected_streams(row const& r) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (std::uint64_t i = 0; i <= small_streams; ++i) {
        out.emplace_back(stream_bytes(r, i), digest(i, stream_bytes(r, i)));
    }
    std::sort(out.begin(), out.end());
    return out;
}

// ---- the processes

std::vector<std::string> go_args(row const& r, char const* role, std::string const& addr) {
    auto const o = kcp_options(r);
    std::vector<std::string> args{SMUX_KCP_GO_PEER, "-addr=" + addr};
    auto flag = [&args](char const* name, auto const& value) {
        std::string text = std::string(name) + "=";
        if constexpr (std::is_arithmetic_v<std::decay_t<decltype(value)>>) {
            text += std::to_string(value);
        } else {
            text += value;
        }
        args.push_back(std::move(text));
    };
    flag("-role", role);
    flag("-crypt", r.crypt);
    flag("-key", o.key);
    flag("-ds", r.data_shards);
    flag("-ps", r.parity_shards);
    flag("-mode", mode_name(r.mode));
    flag("-sndwnd", o.snd_wnd);
    flag("-rcvwnd", o.rcv_wnd);
    flag("-sockbuf", o.socket_buffer);
    flag("-smux", r.version);
    flag("-comp", r.compress ? "true" : "false");
    flag("-streams", small_streams);
    flag("-stream-bytes", small_base);
    flag("-bulk-bytes", bulk_bytes(r));
    return args;
}

std::uint16_t port_of(std::string const& addr) {
    return static_cast<std::uint16_t>(std::stoul(addr.substr(addr.rfind(':') + 1)));
}

/// udp-relay in front of `upstream`, impairing both directions with the row's loss, 5%
/// reordering (held back 10 ms) and 5% duplicates, seeded so a failure can be replayed.
class relay_process {
  public:
    relay_process(std::uint16_t upstream, int loss_percent)
        : child_({UDP_RELAY_PATH, "--listen", "127.0.0.1:0", "--upstream",
                  "127.0.0.1:" + std::to_string(upstream), "--loss",
                  std::to_string(loss_percent / 100.0), "--reorder", "0.05", "--reorder-delay",
                  "10", "--duplicate", "0.05", "--seed", std::to_string(1000 + loss_percent)}) {
        auto const line = child_.read_line(go_patience).value_or("(nothing)");
        auto const at = line.find("\"listening\":\"");
        if (at == std::string::npos) {
            throw std::runtime_error("udp-relay did not start: " + line);
        }
        auto const addr = line.substr(at + 13, line.find('"', at + 13) - at - 13);
        port_ = port_of(addr);
    }

    [[nodiscard]] std::uint16_t port() const { return port_; }

    /// Stops the relay and checks, from its final stats line, that it did drop, duplicate
    /// and reorder datagrams each way (else the row proved nothing about a lossy path).
    void expect_impaired() {
        child_.signal(SIGTERM);
        auto const stats = child_.read_line(go_patience).value_or("(nothing)");
        EXPECT_EQ(child_.wait(go_patience).value_or(-1), 0) << "udp-relay did not exit cleanly";
        std::cout << "udp-relay: " << stats << std::endl;  // what the row went through
        for (char const* dir : {"up", "down"}) {
            for (char const* key : {"dropped", "duplicated", "reordered"}) {
                EXPECT_GT(field(stats, dir, key), 0U) << dir << "." << key << " in " << stats;
            }
        }
    }

  private:
    /// The number after `"key":` inside the object after `"dir":`, or 0.
    static std::uint64_t field(std::string const& json, std::string const& dir,
                               std::string const& key) {
        auto at = json.find('"' + dir + "\":{");
        at = at == std::string::npos ? at : json.find('"' + key + "\":", at);
        return at == std::string::npos ? 0 : std::stoull(json.substr(at + key.size() + 3));
    }

    smux_child::child_process child_;
    std::uint16_t port_ = 0;
};

/// The address the client dials: the server's, or a relay's in front of it.
std::uint16_t dial_port(std::optional<relay_process>& relay, row const& r,
                        std::uint16_t server_port) {
    if (r.loss_percent == 0) {
        return server_port;
    }
    relay.emplace(server_port, r.loss_percent);
    return relay->port();
}

/// SIGTERM to kcppeer, which exits 0 unless one of its streams failed.
void expect_clean_exit(smux_child::child_process& go) {
    go.signal(SIGTERM);
    EXPECT_EQ(go.wait(go_patience).value_or(-1), 0)
        << "kcppeer failed or did not exit (its stderr is above)";
}

// ---- C++ as the client: each stream sends its pattern, checks the echo, then expects the end

/// Reads `n` bytes and compares them with the pattern.
awaitable<void> read_echo(smux::stream& s, std::uint64_t seed, std::uint64_t n) {
    bytes got(chunk);
    bytes want(chunk);
    for (std::uint64_t at = 0; at < n;) {
        auto const room = std::min<std::uint64_t>(chunk, n - at);
        auto [ec, k] =
            co_await s.async_read_some(asio::buffer(got.data(), room), as_tuple_awaitable);
        fill_pattern(seed, at, std::span(want).first(k));
        auto const diff =
            std::mismatch(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(k), want.begin());
        if (diff.first != got.begin() + static_cast<std::ptrdiff_t>(k)) {
            throw std::runtime_error("echo byte " +
                                     std::to_string(at + (diff.first - got.begin())) +
                                     " differs from the byte sent");
        }
        at += k;
        if (ec) {
            throw std::runtime_error("read after " + std::to_string(at) + " of " +
                                     std::to_string(n) + " bytes: " + ec.message());
        }
    }
}

awaitable<void> send_pattern(smux::stream& s, std::uint64_t seed, std::uint64_t n) {
    bytes buf(chunk);
    for (std::uint64_t at = 0; at < n;) {
        auto const part = std::span(buf).first(std::min<std::uint64_t>(chunk, n - at));
        fill_pattern(seed, at, part);
        co_await asio::async_write(s, asio::buffer(part.data(), part.size()), use_awaitable);
        at += part.size();
    }
}

/** One stream's round: the pattern out and its echo back, then (only then: a FIN makes a v2
    Go stream drop what it still has to write) our FIN, and the peer's FIN with nothing more
    before it, so every byte came back exactly once. */
template <class Session>
awaitable<void> echo_round(Session& session, std::uint64_t seed, std::uint64_t n) {
    smux::stream s = co_await session.async_open_stream(use_awaitable);
    // The first failure of either direction is the one to report: the other then fails too,
    // cancelled, and asio::multiple_exceptions would name whichever came first in the list.
    std::string first_failure;
    auto noting = [&first_failure](awaitable<void> op) -> awaitable<void> {
        try {
            co_await std::move(op);
        } catch (std::exception const& e) {
            if (first_failure.empty()) {
                first_failure = e.what();
            }
            throw;
        }
    };
    try {
        co_await (noting(send_pattern(s, seed, n)) && noting(read_echo(s, seed, n)));
    } catch (...) {
        if (first_failure.empty()) {
            throw;
        }
        throw std::runtime_error("stream " + std::to_string(seed) + ": " + first_failure);
    }
    s.shutdown_send();
    std::array<std::byte, 64> extra{};
    auto [ec, k] = co_await s.async_read_some(asio::buffer(extra), as_tuple_awaitable);
    if (k != 0 || ec != asio::error::eof) {
        throw std::runtime_error("stream " + std::to_string(seed) + ": after the echo, " +
                                 std::to_string(k) + " more bytes and " + ec.message() +
                                 " instead of the end of the stream");
    }
}

template <class Next>
void cpp_client_row(row const& r) {
    smux_child::child_process go(go_args(r, "server", "127.0.0.1:0"));
    auto const addr = go.read_line(go_patience);
    ASSERT_TRUE(addr) << "kcppeer printed no address (its stderr is above)";
    std::optional<relay_process> relay;
    auto const port = dial_port(relay, r, port_of(*addr));
    asio::io_context ioc;
    auto c = connected_client(ioc, {asio::ip::make_address("127.0.0.1"), port}, kcp_options(r));
    smux::basic_session<Next> session(smux::role::client, Next(std::move(c)),
                                      make_config(r.version));
    task_group g;
    for (std::uint64_t i = 0; i <= small_streams; ++i) {
        g.spawn(ioc, echo_round(session, i, stream_bytes(r, i)));
    }
    EXPECT_TRUE(g.wait(ioc, row_limit));
    session.close();
    run_ready(ioc);
    expect_clean_exit(go);
    if (relay) {
        relay->expect_impaired();
    }
}

// ---- C++ as the server: it echoes, and records what each stream carried

/// What the server's streams received, from the loop's thread to the test's.
class server_log {
  public:
    void stream_ended(std::uint64_t bytes_in, std::uint64_t fnv) {
        std::lock_guard lock(mutex_);
        ended_.emplace_back(bytes_in, fnv);
        changed_.notify_all();
    }
    void failed(std::string what) {
        std::lock_guard lock(mutex_);
        failures_.push_back(std::move(what));
        changed_.notify_all();
    }
    /// Waits until `n` streams ended or one failed.
    bool wait_for_streams(std::size_t n, clock::duration limit) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, limit,
                                 [&] { return ended_.size() >= n || !failures_.empty(); });
    }
    auto ended() {
        std::lock_guard lock(mutex_);
        auto out = ended_;
        std::sort(out.begin(), out.end());
        return out;
    }
    auto failures() {
        std::lock_guard lock(mutex_);
        return failures_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ended_;
    std::vector<std::string> failures_;
};

/// Echoes until the peer's FIN, then closes; logs the bytes and their FNV-1a.
awaitable<void> echo_stream(smux::stream s, server_log& log) {
    bytes buf(chunk);
    std::uint64_t total = 0;
    std::uint64_t h = fnv_offset;
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), as_tuple_awaitable);
        h = fnv1a(h, std::span(buf).first(n));
        total += n;
        if (n > 0) {
            auto [wec, w] =
                co_await asio::async_write(s, asio::buffer(buf.data(), n), as_tuple_awaitable);
            if (wec) {
                log.failed("stream " + std::to_string(s.id()) + ": echo write: " + wec.message());
                co_return;
            }
        }
        if (ec == asio::error::eof) {
            break;
        }
        if (ec) {
            log.failed("stream " + std::to_string(s.id()) + ": read after " +
                       std::to_string(total) + " bytes: " + ec.message());
            co_return;
        }
    }
    s.close();
    log.stream_ended(total, h);
}

/// Accepts one conversation, runs a session over it and echoes every stream.
template <class Next>
awaitable<void> serve(smux::kcp::listener& l, std::optional<smux::basic_session<Next>>& session,
                      int version, server_log& log) {
    auto [ec, conversation] = co_await l.async_accept(as_tuple_awaitable);
    if (ec) {
        log.failed("accept: " + ec.message());
        co_return;
    }
    session.emplace(smux::role::server, Next(std::move(conversation)), make_config(version));
    for (;;) {
        auto [e, s] = co_await session->async_accept_stream(as_tuple_awaitable);
        if (e) {
            co_return;
        }
        auto const ex = s.get_executor();
        asio::co_spawn(ex, echo_stream(std::move(s), log), asio::detached);
    }
}

/// Runs a loop on a thread of its own; stops it if the test leaves early (a throw).
class loop_thread {
  public:
    explicit loop_thread(asio::io_context& ioc)
        : ioc_(ioc), thread_([&ioc] { ioc.run_for(row_limit); }) {}
    ~loop_thread() {
        if (thread_.joinable()) {
            ioc_.stop();
            thread_.join();
        }
    }
    loop_thread(loop_thread const&) = delete;
    loop_thread& operator=(loop_thread const&) = delete;

    /// Waits until the loop ran out of work.
    void join() { thread_.join(); }

  private:
    asio::io_context& ioc_;
    std::thread thread_;
};

template <class Next>
void cpp_server_row(row const& r) {
    server_log log;  // outlives the loop, whose coroutines point at it
    asio::io_context ioc;
    smux::kcp::listener l(ioc.get_executor(), loopback(), kcp_options(r));
    std::optional<smux::basic_session<Next>> session;
    asio::co_spawn(ioc, serve<Next>(l, session, r.version, log), asio::detached);
    std::optional<relay_process> relay;
    auto const port = dial_port(relay, r, l.local_endpoint().port());
    loop_thread runner(ioc);

    smux_child::child_process go(go_args(r, "client", "127.0.0.1:" + std::to_string(port)));
    auto const result = go.read_line(row_limit);
    EXPECT_EQ(result.value_or("(nothing: see kcppeer's stderr above)"), expected_go_result(r));
    if (result) {
        // The client keeps its session until SIGTERM, so its last FINs still get through.
        EXPECT_TRUE(log.wait_for_streams(small_streams + 1, row_limit))
            << "the server saw " << log.ended().size() << " streams end";
    }
    expect_clean_exit(go);
    if (relay) {
        relay->expect_impaired();
    }

    asio::post(ioc, [&] {
        if (session) {
            session->close();
        }
        l.close();
    });
    runner.join();
    for (auto const& f : log.failures()) {
        ADD_FAILURE() << f;
    }
    EXPECT_EQ(log.ended(), expected_streams(r)) << "(bytes, FNV-1a) of each stream received";
}

class KcpInterop : public ::testing::TestWithParam<row> {};

TEST_P(KcpInterop, Echo) {
    using compressed = smux::kcp::compressed_stream<smux::kcp::stream>;
    auto const& r = GetParam();
    if (r.cpp == cpp_server) {
        r.compress ? cpp_server_row<compressed>(r) : cpp_server_row<smux::kcp::stream>(r);
    } else {
        r.compress ? cpp_client_row<compressed>(r) : cpp_client_row<smux::kcp::stream>(r);
    }
}

INSTANTIATE_TEST_SUITE_P(Matrix, KcpInterop, ::testing::ValuesIn(rows),
                         [](auto const& i) { return row_name(i.param); });

}  // namespace
