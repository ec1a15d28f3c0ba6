// smux-tunnel's command line: kcptun's flags (every one of kcptun-client's and
// kcptun-server's is listed), refusals with a message naming the flag, -c JSON over the
// flags, Go's single-dash spelling, and the listening line.

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tunnel/tunnel_test_support.hpp"

namespace {

using namespace tunnel_test;

struct outcome {
    int status = -1;
    std::string out;
    std::string err;
};

/// Runs smux-tunnel with `argv` to its end (it must end by itself within 20 s).
outcome run_tunnel(std::vector<std::string> const& argv) {
    smux_child::child_process p(args({tunnel_path}, argv),
                                smux_child::child_process::stderr_mode::pipe);
    int const err_fd = p.take_stderr();
    outcome r;
    r.out = p.read_to_end(20s).value_or("(stdout not closed within 20 s)");
    char buf[4096];
    for (ssize_t n; (n = ::read(err_fd, buf, sizeof buf)) > 0;) {
        r.err.append(buf, static_cast<std::size_t>(n));
    }
    ::close(err_fd);
    r.status = p.wait(20s).value_or(-1);
    return r;
}

/// A refused command line: exit status 2, nothing on stdout, each of `words` in the message.
void expect_refused(std::vector<std::string> const& argv, std::vector<std::string> const& words) {
    auto const r = run_tunnel(argv);
    std::string shown;
    for (auto const& a : argv) {
        shown += a + " ";
    }
    EXPECT_EQ(r.status, 2) << shown << "\n" << r.err;
    EXPECT_EQ(r.out, "") << shown;
    for (auto const& w : words) {
        EXPECT_NE(r.err.find(w), std::string::npos)
            << shown << ": '" << w << "' missing in: " << r.err;
    }
}

class temp_dir {
  public:
    temp_dir() {
        std::string templ = (std::filesystem::temp_directory_path() / "smux-tunnel-XXXXXX");
        path_ = ::mkdtemp(templ.data());
    }
    ~temp_dir() { std::filesystem::remove_all(path_); }
    temp_dir(temp_dir const&) = delete;
    temp_dir& operator=(temp_dir const&) = delete;

    std::string write(std::string const& name, std::string const& text) const {
        auto const file = (std::filesystem::path(path_) / name).string();
        std::ofstream(file) << text;
        return file;
    }

  private:
    std::string path_;
};

TEST(TunnelCli, UnknownFlagIsRejected) {
    expect_refused({"client", "--bogus", "1"}, {"--bogus"});
    expect_refused({"server", "--conn", "2"}, {"--conn"});  // a client-only flag
    expect_refused({}, {"subcommand"});                     // no role
}

TEST(TunnelCli, UnknownOrUnsupportedCryptIsRefused) {
    // kcptun silently falls back to aes for a name it does not know; we refuse it.
    expect_refused({"client", "--crypt", "rot13"}, {"unknown --crypt 'rot13'", "supported:"});
    for (char const* c : {"twofish", "tea", "xtea"}) {
        expect_refused({"server", "--crypt", c}, {c, "not supported", "salsa20"});
    }
}

TEST(TunnelCli, UnservedKcptunFlagsAreRefusedByName) {
    expect_refused({"client", "--tcp"}, {"--tcp"});
    expect_refused({"client", "--snmplog", "snmp.log"}, {"--snmplog"});
    expect_refused({"server", "--pprof"}, {"--pprof"});
    expect_refused({"client", "--dscp", "46"}, {"--dscp"});
    expect_refused({"client", "--mode", "manual"}, {"--mode", "manual"});
    expect_refused({"client", "--tls-cert", "c.pem"}, {"--tls-cert", "--transport tls only"});
    expect_refused({"client", "--transport", "tcp", "--tcp"}, {"--tcp"});
}

TEST(TunnelCli, TlsFilesAreCheckedAtStart) {
    expect_refused({"server", "--transport", "tls"}, {"--tls-cert and --tls-key"});
    expect_refused({"client", "--transport", "tls", "--tls-cert", "c.pem"}, {"go together"});
    expect_refused({"client", "--transport", "tcp", "--tls-ca", "ca.pem"}, {"--tls-ca"});
    // A file that cannot be loaded ends the start (status 1), naming the flag and the file.
    logged_process p({tunnel_path, "client", "--transport", "tls", "-l", "127.0.0.1:0", "--tls-ca",
                      "/nonexistent/ca.pem"});
    EXPECT_TRUE(p.wait_for("--tls-ca /nonexistent/ca.pem", 10s)) << p.log();
    EXPECT_EQ(p.wait_exit(10s), std::optional<int>(1)) << p.log();
}

TEST(TunnelCli, KcpSettingsUnderTcpAreIgnoredAloud) {
    // A kcptun config carries every KCP setting: under tcp they are ignored, with a warning.
    logged_process p({tunnel_path, "client", "--transport", "tcp", "-l", "127.0.0.1:0", "-r",
                      "127.0.0.1:9", "--mtu", "1000", "--crypt", "none", "--dscp", "46"});
    EXPECT_NE(p.listening_address(), "") << p.log();
    EXPECT_TRUE(
        p.wait_for("--crypt, --mtu, --dscp: KCP settings, ignored under --transport tcp", 5s))
        << p.log();
    expect_clean_exit(p, SIGTERM);
}

TEST(TunnelCli, OutOfRangeValuesAreRefusedByName) {
    expect_refused({"client", "--smuxver", "3"}, {"--smuxver"});
    expect_refused({"client", "--mtu", "2000"}, {"--mtu", "1500"});
    expect_refused({"server", "--keepalive", "0"}, {"--keepalive"});
    expect_refused({"client", "--conn", "0"}, {"--conn"});
    expect_refused({"client", "--streambuf", "8388608"}, {"max_stream_buffer"});
    expect_refused({"client", "--datashard", "200", "--parityshard", "100"}, {"256"});
    expect_refused({"client", "-l", "127.0.0.1:99999"}, {"--localaddr", "port"});
    expect_refused({"server", "--status-interval", "-1"}, {"--status-interval"});
}

TEST(TunnelCli, HelpListsEveryKcptunFlag) {
    // kcptun-client --help and kcptun-server --help (20210922), hidden flags aside.
    std::vector<std::string> const shared = {
        "--key",         "--crypt",   "--mode",       "--mtu",
        "--sndwnd",      "--rcvwnd",  "--datashard",  "--ds",
        "--parityshard", "--ps",      "--dscp",       "--nocomp",
        "--sockbuf",     "--smuxver", "--smuxbuf",    "--streambuf",
        "--keepalive",   "--snmplog", "--snmpperiod", "--log",
        "--quiet",       "--tcp",     "-c",           "--transport",
        "--tls-cert",    "--tls-key", "--tls-ca",     "--status-interval"};
    auto const client = run_tunnel({"client", "--help"});
    EXPECT_EQ(client.status, 0) << client.err;
    for (auto const& f :
         args(shared, {"--localaddr", "--remoteaddr", "--conn", "--autoexpire", "--scavengettl"})) {
        EXPECT_NE(client.out.find(f), std::string::npos) << f << " missing in:\n" << client.out;
    }
    auto const server = run_tunnel({"server", "--help"});
    EXPECT_EQ(server.status, 0) << server.err;
    for (auto const& f : args(shared, {"--listen", "--target", "--pprof"})) {
        EXPECT_NE(server.out.find(f), std::string::npos) << f << " missing in:\n" << server.out;
    }
}

TEST(TunnelCli, JsonConfigOverridesTheCommandLine) {
    temp_dir dir;
    auto const config =
        dir.write("client.json", R"({"localaddr": "127.0.0.1:0", "remoteaddr": "127.0.0.1:9",
            "Crypt": "salsa20", "mode": "fast3", "nocomp": true, "sndwnd": 64,
            "snmplog": "", "snmpperiod": 60, "key": null, "listen": ":1", "comment": "x"})");
    logged_process p({tunnel_path, "client", "--crypt", "aes", "--sndwnd", "100", "-c", config});
    EXPECT_NE(p.listening_address(), "") << p.log();
    // Keys match case-insensitively, as with Go's encoding/json.
    EXPECT_TRUE(p.wait_for("encryption: salsa20, mode: fast3, compression: false", 5s)) << p.log();
    EXPECT_TRUE(p.wait_for("sndwnd: 64 rcvwnd: 512", 5s)) << p.log();
    // kcptun ignores keys it does not know (and the other role's); we say so.
    EXPECT_TRUE(p.wait_for("key \"comment\" is ignored", 5s)) << p.log();
    EXPECT_TRUE(p.wait_for("key \"listen\" is ignored", 5s)) << p.log();
    expect_clean_exit(p, SIGTERM);
}

TEST(TunnelCli, BadJsonConfigIsRefused) {
    temp_dir dir;
    expect_refused({"client", "-c", dir.write("a.json", R"({"mtu": "1350"})")},
                   {"\"mtu\"", "expected an integer"});
    expect_refused({"client", "-c", dir.write("b.json", R"({"nocomp": 1})")},
                   {"\"nocomp\"", "true or false"});
    expect_refused({"server", "-c", dir.write("c.json", "{ not json")}, {"not valid JSON"});
    expect_refused({"server", "-c", dir.write("d.json", R"({"crypt": "tea"})")}, {"tea"});
    expect_refused({"server", "-c", "/nonexistent/smux-tunnel.json"}, {"cannot open"});
}

TEST(TunnelCli, GoStyleSingleDashFlags) {
    logged_process p({tunnel_path, "client", "-localaddr", "127.0.0.1:0", "-r", "127.0.0.1:9",
                      "-crypt", "none", "-mode=fast2", "-nocomp", "-ds", "4", "-ps=2"});
    EXPECT_NE(p.listening_address(), "") << p.log();
    EXPECT_TRUE(p.wait_for("encryption: none, mode: fast2, compression: false", 5s)) << p.log();
    EXPECT_TRUE(p.wait_for("datashard: 4 parityshard: 2", 5s)) << p.log();
    expect_clean_exit(p, SIGINT);
}

TEST(TunnelCli, ServerLogsTheBoundAddress) {
    logged_process p({tunnel_path, "server", "-l", "127.0.0.1:0", "-t", "127.0.0.1:9"});
    auto const address = p.listening_address();
    EXPECT_EQ(address.rfind("127.0.0.1:", 0), 0U) << p.log();
    EXPECT_NE(port_of(address), 0) << p.log();
    expect_clean_exit(p, SIGTERM);
}

TEST(TunnelCli, HiddenKcptunFlagsUnderAPresetAreIgnoredAloud) {
    logged_process p({tunnel_path, "client", "-l", "127.0.0.1:0", "-r", "127.0.0.1:9", "--nodelay",
                      "1", "--acknodelay"});
    EXPECT_NE(p.listening_address(), "") << p.log();  // signals are handled from here on
    EXPECT_TRUE(p.wait_for("--nodelay is ignored: --mode fast", 10s)) << p.log();
    EXPECT_TRUE(p.wait_for("acknodelay: true", 5s)) << p.log();
    expect_clean_exit(p, SIGTERM);
}

}  // namespace
