#ifndef SMUX_SRC_CORE_SESSION_STATE_HPP
#define SMUX_SRC_CORE_SESSION_STATE_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "smux/core/session.hpp"
#include "stream_record.hpp"

namespace smux::core {

/// The engine behind `core::session` (pimpl: keeps the public header free of internals).
class session_state {
  public:
    session_state(role r, config const& cfg, time_point now, session::options const& opts);

    // receive.cpp
    std::size_t receive(rx_chunk const& bytes);
    [[nodiscard]] bool reading_paused() const noexcept;

    // send_scheduler.cpp
    std::span<std::span<std::byte const> const> prepare_send();
    void commit_send(std::size_t n);
    [[nodiscard]] bool want_write() const noexcept;

    // streams.cpp
    std::optional<stream_id> open_stream(error_code& ec);
    std::optional<stream_id> accept_stream(error_code& ec);
    read_result read(stream_id id, std::span<std::span<std::byte> const> out);
    std::size_t readable_bytes(stream_id id) const noexcept;
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
    std::unordered_map<stream_id, detail::stream_record> streams_;
    std::deque<stream_id> backlog_;
    bool accept_waiting_ = false;
    stream_id last_id_;  ///< last id this side allocated (Go's nextStreamID)
    bool go_away_ = false;

    // receive budget (Go's token bucket, counted the other way round) and memory
    std::size_t buffered_ = 0;
    std::size_t pinned_ = 0;
    std::size_t max_pinned_ = 0;

    // inbound frame parser
    enum class parse_state : std::uint8_t { header, payload, update };
    parse_state parse_ = parse_state::header;
    std::array<std::byte, header_size> staging_{};
    std::size_t staged_ = 0;
    frame_header current_;
    std::size_t payload_left_ = 0;

    // outbound
    detail::control_queue ctrl_;
    detail::data_queue data_;
    bool nop_pending_ = false;
    std::vector<stream_id> refusals_;  ///< FIN replies to refused SYNs
    /// Cursors of finished writes kept for the next ones (at most max_spare_write_cursors),
    /// so that steady traffic allocates none.
    std::vector<std::unique_ptr<detail::write_cursor>> spare_write_cursors_;
    static constexpr std::size_t max_spare_write_cursors = 64;

    struct frame_record {
        detail::stream_record* stream;  ///< null for frames of no stream (NOP, refusal FIN)
        std::size_t end;                ///< batch offset just past the frame
        bool is_fin;
        bool is_write_data;  ///< a PSH frame of the stream's current write
    };
    std::vector<std::byte> arena_;  ///< headers and small payloads of the current batch
    std::size_t arena_used_ = 0;
    std::vector<std::span<std::byte const>> segments_;
    std::size_t segment_head_ = 0;
    std::vector<frame_record> frames_;
    std::size_t frame_head_ = 0;
    std::size_t batch_total_ = 0;
    std::size_t batch_committed_ = 0;

    // keep-alive
    time_point next_ping_;
    time_point next_check_;
    bool frame_seen_ = false;

    // events
    std::vector<event> events_;
    std::size_t event_head_ = 0;

    // helpers shared by the files above
    detail::stream_record* find_live(stream_id id) noexcept;
    detail::stream_record& create_stream(stream_id id);
    void maybe_forget(detail::stream_record& s);
    void emit(event e) { events_.push_back(e); }
    void fail(error c) { close(make_error_code(c)); }
    void deliver(stream_id id, rx_chunk const& in, std::size_t offset, std::size_t n);
    void pin(rx_buffer& b) noexcept;
    void unpin(rx_buffer& b) noexcept;
    void drop_received(detail::stream_record& s) noexcept;
    void consumed(detail::stream_record& s, std::size_t n);
    void finish_write_if_done(detail::stream_record& s);
    detail::write_cursor& start_write(detail::stream_record& s);
    void end_write(detail::stream_record& s) noexcept;
    [[nodiscard]] std::int32_t send_allowance(detail::stream_record const& s) const noexcept;
};

}  // namespace smux::core

#endif
