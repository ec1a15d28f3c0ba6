#ifndef SMUX_TESTS_SUPPORT_SESSION_ACCESS_HPP
#define SMUX_TESTS_SUPPORT_SESSION_ACCESS_HPP

// Reaches into the engine's private state for tests that would otherwise need billions of
// frames (id exhaustion). Needs the library's src/ directory on the include path.

#include "core/session_state.hpp"
#include "smux/core/session.hpp"

namespace smux::core {

struct session_access {
    /// Continues id allocation after `last_used` (same parity as this side), as if every id
    /// up to it had been used.
    static void skip_stream_ids(session& s, stream_id last_used) noexcept {
        s.s_->last_id_ = last_used;
    }
};

}  // namespace smux::core

#endif
