#ifndef SMUX_CORE_INTRUSIVE_LIST_HPP
#define SMUX_CORE_INTRUSIVE_LIST_HPP

#include <cstddef>

namespace smux::core {

/// Links of one element in one `intrusive_list`.
template <class T>
struct list_hook {
    /// the element before, or null at the front
    T* prev = nullptr;
    /// the element after, or null at the back
    T* next = nullptr;
};

/** A FIFO of elements that carry their own links (no allocation when an element joins).
    `Hook` selects which of the element's hooks this list uses, so one element can sit in
    several lists at once. */
template <class T, list_hook<T> T::*Hook>
class intrusive_list {
  public:
    /// True when no element is linked.
    [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
    /// The oldest element, or null.
    [[nodiscard]] T* front() const noexcept { return head_; }
    /// Elements linked.
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    /// Whether `e` is in this list (an element is in at most one list per hook).
    [[nodiscard]] bool contains(T const& e) const noexcept {
        return (e.*Hook).prev != nullptr || head_ == &e;
    }
    /// The element after `e` in this list, or null.
    static T* next(T const& e) noexcept { return (e.*Hook).next; }

    /// Appends `e`; does nothing when it is already in the list.
    void push_back(T& e) noexcept {
        if (contains(e)) {
            return;
        }
        auto& h = e.*Hook;
        h.prev = tail_;
        h.next = nullptr;
        if (tail_ != nullptr) {
            (tail_->*Hook).next = &e;
        } else {
            head_ = &e;
        }
        tail_ = &e;
        ++size_;
    }

    /// Unlinks `e`; does nothing when it is not in the list.
    void erase(T& e) noexcept {
        if (!contains(e)) {
            return;
        }
        auto& h = e.*Hook;
        if (h.prev != nullptr) {
            (h.prev->*Hook).next = h.next;
        } else {
            head_ = h.next;
        }
        if (h.next != nullptr) {
            (h.next->*Hook).prev = h.prev;
        } else {
            tail_ = h.prev;
        }
        h = list_hook<T>{};
        --size_;
    }

    /// Unlinks and returns the oldest element, or null when empty.
    T* pop_front() noexcept {
        T* e = head_;
        if (e != nullptr) {
            erase(*e);
        }
        return e;
    }

  private:
    T* head_ = nullptr;
    T* tail_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace smux::core

#endif
