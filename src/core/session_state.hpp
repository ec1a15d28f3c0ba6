#ifndef SMUX_SRC_CORE_SESSION_STATE_HPP
#define SMUX_SRC_CORE_SESSION_STATE_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "event_queue.hpp"
#include "frame_parser.hpp"
#include "keepalive_schedule.hpp"
#include "receive_memory.hpp"
#include "send_batch.hpp"
#include "smux/core/session.hpp"
#include "stream_record.hpp"
#include "stream_table.hpp"

namespace smux::core {

/// The engine behind `core::session` (pimpl: keeps the public header free of internals).
class session_state {
  public:
    session_state(role r, config const& cfg, time_point now, session::options const& opts);

    // receive.cpp
    std::size_t receive(rx_chunk const& bytes);
    [[nodiscard]] bool reading_paused() const noexcept;
    /// One handler per received command (PSH payload goes to `deliver`).
    void on_header(frame_header const& h);
    void count_stream_frame(stream_id sid) noexcept;
    void on_syn(stream_id sid);
    void on_fin(stream_id sid);
    void on_update(stream_id sid, window_update const& u);

    // send_scheduler.cpp
    std::span<std::span<std::byte const> const> prepare_send();
    void commit_send(std::size_t n);
    [[nodiscard]] bool want_write() const noexcept;
    /// The steps of prepare_send.
    void put_control_frames();
    void put_update(detail::stream_record& s);
    void say_version();
    void put_data_frames();
    void put_psh(detail::stream_record& s);
    [[nodiscard]] frame_header header(command cmd, stream_id sid,
                                      std::size_t length) const noexcept;

    // streams.cpp
    std::optional<stream_id> open_stream(error_code& ec);
    std::optional<stream_id> accept_stream(error_code& ec);
    read_result read(stream_id id, std::span<std::span<std::byte> const> out);
    read_result poll_read(stream_id id);
    take_result take(stream_id id, std::size_t max_bytes, std::span<rx_chunk> out);
    void release(stream_id id, std::span<rx_chunk> chunks);
    std::size_t readable_bytes(stream_id id) const noexcept;
    std::optional<smux::stream_stats> stream_stats(stream_id id) const noexcept;
    write_result write(stream_id id, std::span<std::span<std::byte const> const> src);
    void abort_write(stream_id id);
    error_code close_write(stream_id id);
    void close_stream(stream_id id);
    void set_context(stream_id id, void* context) noexcept;
    void shutdown_streams();

    // session.cpp
    void close(error_code ec);
    void on_timer(time_point now);
    std::optional<time_point> next_timer() const noexcept;
    std::optional<event> poll_event();

    config cfg_;
    role role_;
    session::options opts_;
    bool alive_ = true;
    error_code terminal_;
    session_counters counters_;

    // streams
    detail::stream_table streams_;
    std::deque<stream_id> backlog_;
    bool accept_waiting_ = false;
    stream_id last_id_;  ///< last id this side allocated (Go's nextStreamID)
    bool go_away_ = false;

    detail::receive_memory memory_;

    // inbound
    detail::frame_parser parser_;

    // outbound
    detail::control_queue ctrl_;
    detail::data_queue data_;
    bool nop_pending_ = false;
    std::vector<stream_id> refusals_;  ///< FIN replies to refused SYNs
    /// Cursors of finished writes kept for the next ones (at most max_spare_write_cursors),
    /// so that steady traffic allocates none.
    std::vector<std::unique_ptr<detail::write_cursor>> spare_write_cursors_;
    static constexpr std::size_t max_spare_write_cursors = 64;

    detail::send_batch batch_;

    detail::keepalive_schedule keepalive_;
    detail::event_queue events_;

    // helpers shared by the files above
    detail::stream_record* find_live(stream_id id) noexcept;
    detail::stream_record& create_stream(stream_id id);
    void maybe_forget(detail::stream_record& s);
    void emit(event const& e) { events_.push(e); }
    void fail(error c) { close(make_error_code(c)); }
    /// PSH payload bytes for `id`; `first_piece` counts the frame.
    void deliver(stream_id id, rx_chunk const& in, std::size_t offset, std::size_t n,
                 bool first_piece);
    void drop_received(detail::stream_record& s) noexcept;
    /// The application took `n` bytes out of `s`: budget and credit (a read).
    void consumed(detail::stream_record& s, std::size_t n);
    /// The credit part (v2): the peer may send `n` more bytes on `s`, by Go's update rule.
    void credit(detail::stream_record& s, std::size_t n);
    /// Drops the stream's receive queue once it is all read (idle streams hold none).
    static void trim_receive_queue(detail::stream_record& s) noexcept;
    /// A read's outcome without copying (would_block asks for a `readable` event).
    read_result readiness(detail::stream_record& s);
    void finish_write_if_done(detail::stream_record& s);
    detail::write_cursor& start_write(detail::stream_record& s);
    void end_write(detail::stream_record& s) noexcept;
    [[nodiscard]] std::int32_t send_allowance(detail::stream_record const& s) const noexcept;
};

}  // namespace smux::core

#endif
