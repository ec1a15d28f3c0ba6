#ifndef SMUX_TESTS_TUNNEL_TEST_CERTIFICATES_HPP
#define SMUX_TESTS_TUNNEL_TEST_CERTIFICATES_HPP

// Certificates for the TLS tests, made by the openssl command in a temporary directory: a CA
// and a server certificate it signed for 127.0.0.1, another CA, and a certificate of the
// first CA for another name only (elsewhere.test).

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support/child_process.hpp"

#ifndef SMUX_OPENSSL_PATH
#define SMUX_OPENSSL_PATH ""
#endif

namespace tunnel_test {

inline std::string const openssl_path = SMUX_OPENSSL_PATH;

class test_certificates {
  public:
    std::string ca;        ///< the CA that signed `cert` and `wrong_name_cert`
    std::string other_ca;  ///< a CA that signed nothing here
    std::string cert;      ///< for IP address 127.0.0.1
    std::string key;
    std::string wrong_name_cert;  ///< for DNS name elsewhere.test only
    std::string wrong_name_key;

    /// @throws std::runtime_error when openssl fails.
    test_certificates() {
        std::string templ = (std::filesystem::temp_directory_path() / "smux-tunnel-tls-XXXXXX");
        dir_ = ::mkdtemp(templ.data());
        ca = make_ca("ca");
        other_ca = make_ca("other");
        std::tie(cert, key) = make_signed("server", "IP:127.0.0.1");
        std::tie(wrong_name_cert, wrong_name_key) = make_signed("elsewhere", "DNS:elsewhere.test");
    }
    ~test_certificates() { std::filesystem::remove_all(dir_); }
    test_certificates(test_certificates const&) = delete;
    test_certificates& operator=(test_certificates const&) = delete;

  private:
    std::string path(std::string const& name) const { return dir_ + "/" + name; }

    static void openssl(std::vector<std::string> argv) {
        std::string const command = argv.front();
        argv.insert(argv.begin(), openssl_path);
        smux_child::child_process p(std::move(argv), smux_child::child_process::stderr_mode::pipe);
        (void)p.read_to_end(std::chrono::seconds(60));
        if (p.wait(std::chrono::seconds(60)) != std::optional<int>(0)) {
            throw std::runtime_error("openssl " + command + " failed");
        }
    }

    static std::vector<std::string> new_key(std::string const& key_file) {
        return {"-newkey", "ec",      "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes",  "-keyout", key_file};
    }

    std::string make_ca(std::string const& name) const {
        auto argv = new_key(path(name + ".key"));
        argv.insert(argv.begin(), {"req", "-x509"});
        argv.insert(argv.end(), {"-out", path(name + ".pem"), "-days", "2", "-subj",
                                 "/CN=smux-tunnel test " + name});
        openssl(argv);
        return path(name + ".pem");
    }

    /// A certificate of "ca" for `alt_name` (subjectAltName syntax).
    std::pair<std::string, std::string> make_signed(std::string const& name,
                                                    std::string const& alt_name) const {
        auto argv = new_key(path(name + ".key"));
        argv.insert(argv.begin(), "req");
        argv.insert(argv.end(), {"-out", path(name + ".csr"), "-subj", "/CN=" + name});
        openssl(argv);
        std::ofstream(path(name + ".ext")) << "subjectAltName=" << alt_name << "\n";
        openssl({"x509", "-req", "-in", path(name + ".csr"), "-CA", path("ca.pem"), "-CAkey",
                 path("ca.key"), "-CAcreateserial", "-out", path(name + ".pem"), "-days", "2",
                 "-extfile", path(name + ".ext")});
        return {path(name + ".pem"), path(name + ".key")};
    }

    std::string dir_;
};

}  // namespace tunnel_test

#endif
