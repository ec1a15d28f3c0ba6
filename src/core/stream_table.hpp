#ifndef SMUX_SRC_CORE_STREAM_TABLE_HPP
#define SMUX_SRC_CORE_STREAM_TABLE_HPP

#include <cstddef>
#include <functional>
#include <unordered_set>

#include "smux/core/frame.hpp"
#include "stream_record.hpp"

namespace smux::core::detail {

/** The session's streams by id. A record carries its own id, so the table holds records alone
    rather than (id, record) pairs: the key's copy and its padding would put every hash node one
    malloc size class higher (176 B instead of 160 B on 64-bit glibc), and idle streams are
    counted in nodes. Records never move while they are in the table. */
class stream_table {
  public:
    [[nodiscard]] stream_record* find(stream_id id) noexcept {
        auto it = set_.find(id);
        return it == set_.end() ? nullptr : &it->record;
    }
    [[nodiscard]] stream_record const* find(stream_id id) const noexcept {
        auto it = set_.find(id);
        return it == set_.end() ? nullptr : &it->record;
    }
    [[nodiscard]] bool contains(stream_id id) const noexcept { return set_.contains(id); }
    [[nodiscard]] std::size_t size() const noexcept { return set_.size(); }

    /// A new record for `id`, which must not be in the table.
    stream_record& emplace(stream_id id) { return set_.emplace(id).first->record; }

    void erase(stream_id id) noexcept {
        if (auto it = set_.find(id); it != set_.end()) {  // erase by key needs C++23 here
            set_.erase(it);
        }
    }

    template <class F>
    void for_each(F&& f) {
        for (entry const& e : set_) {
            f(e.record);
        }
    }

    /// Calls `f` on every record and removes those for which it returns true.
    template <class F>
    void erase_if(F&& f) {
        for (auto it = set_.begin(); it != set_.end();) {
            it = std::invoke(f, it->record) ? set_.erase(it) : std::next(it);
        }
    }

  private:
    // Set elements are const so that their key cannot change; the key is the record's const
    // id, so the rest of the record may change in place.
    struct entry {
        explicit entry(stream_id id) noexcept : record(id) {}
        mutable stream_record record;
    };
    struct by_id {
        using is_transparent = void;
        static stream_id key(entry const& e) noexcept { return e.record.id; }
        static stream_id key(stream_id id) noexcept { return id; }
        template <class A>
        std::size_t operator()(A const& a) const noexcept {
            return std::hash<stream_id>{}(key(a));
        }
        template <class A, class B>
        bool operator()(A const& a, B const& b) const noexcept {
            return key(a) == key(b);
        }
    };
    std::unordered_set<entry, by_id, by_id> set_;
};

}  // namespace smux::core::detail

#endif
