// Echo over smux with plain completion handlers (no coroutines): the same server and client
// as echo-coroutines, over one TCP connection on 127.0.0.1. Prints the replies; exits non-zero
// unless each one came back intact.

#include <array>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <smux/smux.hpp>

namespace {

using asio::ip::tcp;

// [snippet:echo-stream]
// Echoes one stream until the peer's FIN. The handlers keep the object alive; it goes away
// (and its stream sends FIN) when no operation is pending any more.
class echo_stream : public std::enable_shared_from_this<echo_stream> {
  public:
    explicit echo_stream(smux::stream s) : stream_(std::move(s)) {}

    void read() {
        stream_.async_read_some(asio::buffer(buffer_),
                                [self = shared_from_this()](smux::error_code ec, std::size_t n) {
                                    if (!ec) {  // asio::error::eof after the peer's FIN
                                        self->write(n);
                                    }
                                });
    }

  private:
    void write(std::size_t n) {
        asio::async_write(stream_, asio::buffer(buffer_, n),
                          [self = shared_from_this()](smux::error_code ec, std::size_t) {
                              if (!ec) {
                                  self->read();
                              }
                          });
    }

    smux::stream stream_;
    std::array<char, 4096> buffer_{};
};
// [end-snippet]

// [snippet:server]
// One connection: accepts streams until the session ends. Must outlive its handlers (here it
// lives in main, beside the io_context).
class echo_server {
  public:
    explicit echo_server(tcp::socket socket) : session_(smux::role::server, std::move(socket)) {}

    void accept() {
        session_.async_accept_stream([this](smux::error_code ec, smux::stream s) {
            if (ec) {
                return;  // the session ended: ec == smux::condition::session_terminated
            }
            std::make_shared<echo_stream>(std::move(s))->read();
            accept();
        });
    }

  private:
    smux::tcp_session session_;
};
// [end-snippet]

// [snippet:question]
// One question on its own stream: open it, write, half-close, read the reply to end of file,
// then call `done` with the reply or the error.
class question : public std::enable_shared_from_this<question> {
  public:
    using callback = std::function<void(smux::error_code, std::string)>;

    question(smux::tcp_session& session, std::string text, callback done)
        : session_(session), text_(std::move(text)), done_(std::move(done)) {}

    void ask() {
        session_.async_open_stream(
            [self = shared_from_this()](smux::error_code ec, smux::stream s) {
                if (ec) {
                    return self->done_(ec, {});
                }
                self->stream_ = std::move(s);
                self->write();
            });
    }

  private:
    void write() {
        asio::async_write(stream_, asio::buffer(text_),
                          [self = shared_from_this()](smux::error_code ec, std::size_t) {
                              if (ec) {
                                  return self->done_(ec, {});
                              }
                              self->stream_.shutdown_send();  // FIN after the question
                              self->read_reply();
                          });
    }

    void read_reply() {
        asio::async_read(stream_, asio::dynamic_buffer(reply_),
                         [self = shared_from_this()](smux::error_code ec, std::size_t) {
                             // The reply ends with the peer's FIN: eof is success here.
                             self->done_(ec == asio::error::eof ? smux::error_code{} : ec,
                                         std::move(self->reply_));
                         });
    }

    smux::tcp_session& session_;
    std::string text_;
    callback done_;
    smux::stream stream_;
    std::string reply_;
};
// [end-snippet]

}  // namespace

int main() {
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    std::optional<echo_server> server;
    acceptor.async_accept([&](smux::error_code ec, tcp::socket socket) {
        if (!ec) {
            server.emplace(std::move(socket));
            server->accept();
        }
    });

    std::map<std::string, std::string> replies;  // question -> reply
    std::optional<smux::tcp_session> session;
    tcp::socket socket(io);
    socket.async_connect(acceptor.local_endpoint(), [&](smux::error_code ec) {
        if (ec) {
            std::cerr << "connect failed: " << ec.message() << '\n';
            return;
        }
        session.emplace(smux::role::client, std::move(socket));
        for (std::string text : {"one", "two", "three"}) {
            auto done = [&, text](smux::error_code qec, std::string reply) {
                if (qec) {
                    std::cerr << text << " failed: " << qec.message() << '\n';
                }
                replies[text] = std::move(reply);
                if (replies.size() == 3) {
                    session->async_shutdown([](smux::error_code) {});  // then io.run returns
                }
            };
            std::make_shared<question>(*session, text, done)->ask();  // three streams at once
        }
    });
    io.run();

    bool echoed = replies.size() == 3;
    for (auto const& [text, reply] : replies) {
        std::cout << text << " -> " << reply << '\n';
        echoed = echoed && reply == text;
    }
    std::cout << (echoed ? "every stream echoed\n" : "echo FAILED\n");
    return echoed ? 0 : 1;
}
