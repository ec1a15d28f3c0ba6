#include "interop_support.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#ifndef SMUX_INTEROP_GO_PEER
#error "SMUX_INTEROP_GO_PEER (path of the smuxpeer binary) must be defined by the build"
#endif
#ifndef SMUX_INTEROP_BULK_MIB
#define SMUX_INTEROP_BULK_MIB 256
#endif

namespace interop {

namespace {

bool sanitized() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

}  // namespace

// ---- parameters

std::int64_t bulk_bytes() {
    std::int64_t mib = SMUX_INTEROP_BULK_MIB;
    if (char const* env = std::getenv("SMUX_INTEROP_BULK_MIB"); env != nullptr && *env != 0) {
        mib = std::max<std::int64_t>(1, std::strtoll(env, nullptr, 10));
    }
    return mib * 1024 * 1024;
}

double slowness() {
    double f = 1.0;
    if (sanitized()) {
        f *= 3.0;
    }
#ifndef NDEBUG
    f *= 2.0;
#endif
    return f;
}

milliseconds budget(milliseconds base) {
    return milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * slowness()));
}

std::int64_t after_fin_bytes(int version) {
    return version == 2 ? 60000 : 4 * 1024 * 1024;
}

std::int64_t slow_stream_bytes(int version) {
    return version == 2 ? 2 * 1024 * 1024 : 1024 * 1024;
}

// ---- child process

std::string go_peer_path() {
    if (char const* env = std::getenv("SMUX_INTEROP_GO_PEER"); env != nullptr && *env != 0) {
        return env;
    }
    return SMUX_INTEROP_GO_PEER;
}

std::vector<std::string> go_config_flags(smux::config const& cfg) {
    std::vector<std::string> f = {
        "--version",
        std::to_string(cfg.version),
        "--keepalive-interval",
        std::to_string(cfg.keep_alive_interval.count()),
        "--keepalive-timeout",
        std::to_string(cfg.keep_alive_timeout.count()),
        "--max-frame-size",
        std::to_string(cfg.max_frame_size),
        "--max-receive-buffer",
        std::to_string(cfg.max_receive_buffer),
        "--max-stream-buffer",
        std::to_string(cfg.max_stream_buffer),
    };
    if (cfg.keep_alive_disabled) {
        f.emplace_back("--no-keepalive");
    }
    return f;
}

go_server::go_server(smux::config const& cfg, std::vector<std::string> extra)
    : process([&] {
          std::vector<std::string> argv = {go_peer_path(), "server", "--listen", "127.0.0.1:0"};
          for (auto& f : go_config_flags(cfg)) {
              argv.push_back(std::move(f));
          }
          for (auto& f : extra) {
              argv.push_back(std::move(f));
          }
          return argv;
      }()) {
    auto line = process.read_line(10s);
    if (!line) {
        throw std::runtime_error("the Go server (pid " + std::to_string(process.pid()) +
                                 ") printed no listening line within 10 s");
    }
    std::string const addr = json_field(*line, "listening");
    auto const colon = addr.rfind(':');
    if (colon == std::string::npos) {
        throw std::runtime_error("bad listening line from the Go server: " + *line);
    }
    endpoint =
        asio::ip::tcp::endpoint(asio::ip::make_address(addr.substr(0, colon)),
                                static_cast<std::uint16_t>(std::stoi(addr.substr(colon + 1))));
}

bool go_client_result::ok() const {
    return finished && exit_code == 0 && json_field(line, "ok") == "true";
}

std::string go_client_result::field(std::string_view key) const {
    return json_field(line, key);
}

go_client_result run_go_client(std::uint16_t port, std::string const& scenario,
                               smux::config const& cfg, std::vector<std::string> extra,
                               milliseconds deadline) {
    std::vector<std::string> argv = {
        go_peer_path(), "client", "--connect",  "127.0.0.1:" + std::to_string(port),
        "--scenario",   scenario, "--deadline", std::to_string(deadline.count())};
    for (auto& f : go_config_flags(cfg)) {
        argv.push_back(std::move(f));
    }
    for (auto& f : extra) {
        argv.push_back(std::move(f));
    }
    child_process child(std::move(argv));
    go_client_result r;
    // The client enforces its own deadline; this one only catches a client that hangs.
    auto out = child.read_to_end(deadline + 10s);
    auto status = child.wait(out ? 10s : 0s);
    if (!status) {
        child.kill();
        r.line = out.value_or("");
        return r;
    }
    r.finished = true;
    r.exit_code = *status;
    r.line = out.value_or("");
    while (!r.line.empty() && (r.line.back() == '\n' || r.line.back() == '\r')) {
        r.line.pop_back();
    }
    return r;
}

std::string json_field(std::string_view json, std::string_view key) {
    std::string const needle = "\"" + std::string(key) + "\":";
    auto pos = json.find(needle);
    if (pos == std::string_view::npos) {
        return {};
    }
    pos += needle.size();
    std::string out;
    if (pos < json.size() && json[pos] == '"') {
        for (++pos; pos < json.size() && json[pos] != '"'; ++pos) {
            if (json[pos] == '\\' && pos + 1 < json.size()) {
                ++pos;
            }
            out.push_back(json[pos]);
        }
        return out;
    }
    while (pos < json.size() && json[pos] != ',' && json[pos] != '}') {
        out.push_back(json[pos++]);
    }
    return out;
}

// ---- generator and digest

std::uint64_t generator::next() noexcept {
    state_ += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31U);
}

void generator::fill(std::span<std::byte> out) noexcept {
    std::size_t i = 0;
    while (i < out.size()) {
        if (have_ == 0) {
            std::uint64_t const v = next();
            std::array<std::byte, 8> le{};
            for (std::size_t k = 0; k < 8; ++k) {
                le[k] = static_cast<std::byte>((v >> (8 * k)) & 0xFFU);
            }
            if (out.size() - i >= 8) {
                std::memcpy(out.data() + i, le.data(), 8);
                i += 8;
                continue;
            }
            buf_ = le;
            have_ = 8;
        }
        out[i++] = buf_[8 - have_];
        --have_;
    }
}

std::vector<std::byte> generator::bytes(std::size_t n) {
    std::vector<std::byte> v(n);
    fill(v);
    return v;
}

digest::digest() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr ||
        EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("OpenSSL SHA-256 init failed");
    }
}

digest::~digest() {
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
}

void digest::update(std::span<std::byte const> bytes) {
    size_ += bytes.size();
    EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size());
}

std::string digest::hex() const {
    EVP_MD_CTX* copy = EVP_MD_CTX_new();
    EVP_MD_CTX_copy_ex(copy, static_cast<EVP_MD_CTX*>(ctx_));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(copy, md, &len);
    EVP_MD_CTX_free(copy);
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out.push_back(digits[md[i] >> 4U]);
        out.push_back(digits[md[i] & 0xFU]);
    }
    return out;
}

std::string digest::line() const {
    return std::to_string(size_) + " " + hex();
}

std::optional<std::size_t> first_difference(std::span<std::byte const> a,
                                            std::span<std::byte const> b) {
    std::size_t const n = std::min(a.size(), b.size());
    if (std::memcmp(a.data(), b.data(), n) == 0) {
        return a.size() == b.size() ? std::nullopt : std::optional<std::size_t>(n);
    }
    auto const it = std::mismatch(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n), b.begin());
    return static_cast<std::size_t>(it.first - a.begin());
}

// ---- stream helpers

std::string describe(smux::error_code const& ec) {
    if (!ec) {
        return "success";
    }
    return ec.category().name() + std::string(":") + std::to_string(ec.value()) + " (" +
           ec.message() + ")";
}

asio::awaitable<std::string> stream_reader::line() {
    auto [ec, n] =
        co_await asio::async_read_until(s_, asio::dynamic_buffer(ahead_), '\n', as_tuple);
    if (ec) {
        throw scenario_error("stream " + std::to_string(s_.id()) +
                             ": reading a line: " + describe(ec) + " (have \"" + ahead_ + "\")");
    }
    std::string line = ahead_.substr(0, n - 1);
    ahead_.erase(0, n);
    co_return line;
}

asio::awaitable<std::pair<smux::error_code, std::size_t>> stream_reader::some(
    std::span<std::byte> out) {
    if (!ahead_.empty()) {
        std::size_t const n = std::min(out.size(), ahead_.size());
        std::memcpy(out.data(), ahead_.data(), n);
        ahead_.erase(0, n);
        co_return std::pair{smux::error_code{}, n};
    }
    auto [ec, n] = co_await s_.async_read_some(asio::buffer(out.data(), out.size()), as_tuple);
    co_return std::pair{ec, n};
}

asio::awaitable<void> stream_reader::exact(std::span<std::byte> out) {
    std::size_t got = 0;
    while (got < out.size()) {
        auto [ec, n] = co_await some(out.subspan(got));
        got += n;
        if (ec && got < out.size()) {
            throw scenario_error("stream " + std::to_string(s_.id()) + ": read " +
                                 std::to_string(got) + " of " + std::to_string(out.size()) +
                                 " bytes: " + describe(ec));
        }
    }
}

asio::awaitable<void> stream_reader::to_eof(digest& d) {
    std::vector<std::byte> buf(64 * 1024);
    for (;;) {
        auto [ec, n] = co_await some(buf);
        d.update(std::span(buf.data(), n));
        if (ec == asio::error::eof) {
            co_return;
        }
        if (ec) {
            throw scenario_error("stream " + std::to_string(s_.id()) + ": after " +
                                 std::to_string(d.size()) + " bytes: " + describe(ec));
        }
    }
}

asio::awaitable<void> stream_reader::expect_generated(std::uint64_t n, std::uint64_t seed) {
    generator g(seed);
    std::vector<std::byte> buf(64 * 1024);
    std::vector<std::byte> want(64 * 1024);
    std::uint64_t got = 0;
    for (;;) {
        auto [ec, k] = co_await some(buf);
        if (k > 0) {
            if (got + k > n) {
                throw scenario_error("stream " + std::to_string(s_.id()) + ": more than the " +
                                     std::to_string(n) + " bytes expected");
            }
            g.fill(std::span(want.data(), k));
            if (auto d = first_difference(std::span(buf.data(), k), std::span(want.data(), k))) {
                throw scenario_error("stream " + std::to_string(s_.id()) + ": byte " +
                                     std::to_string(got + *d) + " differs");
            }
            got += k;
        }
        if (ec == asio::error::eof) {
            break;
        }
        if (ec) {
            throw scenario_error("stream " + std::to_string(s_.id()) + ": after " +
                                 std::to_string(got) + " of " + std::to_string(n) +
                                 " bytes: " + describe(ec));
        }
    }
    if (got != n) {
        throw scenario_error("stream " + std::to_string(s_.id()) + ": end of stream after " +
                             std::to_string(got) + " of " + std::to_string(n) + " bytes");
    }
}

asio::awaitable<void> write_all(smux::stream& s, std::span<std::byte const> bytes) {
    auto [ec, n] =
        co_await asio::async_write(s, asio::buffer(bytes.data(), bytes.size()), as_tuple);
    if (ec) {
        throw scenario_error("stream " + std::to_string(s.id()) + ": wrote " + std::to_string(n) +
                             " of " + std::to_string(bytes.size()) + " bytes: " + describe(ec));
    }
}

asio::awaitable<void> write_text(smux::stream& s, std::string const& text) {
    co_await write_all(s, std::as_bytes(std::span(text.data(), text.size())));
}

asio::awaitable<smux::stream> open_command(smux::tcp_session& session, std::string const& command) {
    auto [ec, s] = co_await session.async_open_stream(as_tuple);
    if (ec) {
        throw scenario_error("open for \"" + command + "\": " + describe(ec));
    }
    co_await write_text(s, command + "\n");
    co_return std::move(s);
}

asio::awaitable<void> echo_round_trip(smux::tcp_session& session,
                                      std::span<std::byte const> payload) {
    using namespace asio::experimental::awaitable_operators;
    smux::stream s = co_await open_command(session, "echo");
    std::vector<std::byte> got(payload.size());
    // Both halves record their error instead of throwing, so that a failure of both is
    // reported with both reasons.
    smux::error_code write_ec;
    smux::error_code read_ec;
    std::size_t written = 0;
    std::size_t read = 0;
    auto write_half = [&]() -> asio::awaitable<void> {
        auto [ec, n] =
            co_await asio::async_write(s, asio::buffer(payload.data(), payload.size()), as_tuple);
        write_ec = ec;
        written = n;
    };
    auto read_half = [&]() -> asio::awaitable<void> {
        auto [ec, n] = co_await asio::async_read(s, asio::buffer(got), as_tuple);
        read_ec = ec;
        read = n;
    };
    co_await (write_half() && read_half());
    if (write_ec || read_ec) {
        throw scenario_error("echo stream " + std::to_string(s.id()) + ": wrote " +
                             std::to_string(written) + " of " + std::to_string(payload.size()) +
                             " bytes (" + describe(write_ec) + "), read back " +
                             std::to_string(read) + " (" + describe(read_ec) + ")");
    }
    if (auto d = first_difference(got, payload)) {
        throw scenario_error("echo stream " + std::to_string(s.id()) + ": byte " +
                             std::to_string(*d) + " of " + std::to_string(payload.size()) +
                             " differs");
    }
    s.close();
}

asio::awaitable<void> sleep_for(milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(as_tuple);
}

}  // namespace interop
