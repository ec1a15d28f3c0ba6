#ifndef SMUX_TOOLS_TUNNEL_BUFFER_POOL_HPP
#define SMUX_TOOLS_TUNNEL_BUFFER_POOL_HPP

// Copy buffers lent to a connection only while it moves bytes from its socket to its stream,
// so an idle connection holds none. One thread only (the tool runs one io_context thread).

#include <asio/buffer.hpp>
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace smux_tunnel {

class buffer_pool {
  public:
    /// Two smux frames of the default size: one read, one write of the stream.
    static constexpr std::size_t block_size = 65536;

    /// A borrowed block; goes back to the pool when destroyed.
    class lease {
      public:
        lease(lease&& o) noexcept : pool_(o.pool_), block_(std::move(o.block_)) {}
        lease& operator=(lease&&) = delete;
        lease(lease const&) = delete;
        lease& operator=(lease const&) = delete;
        ~lease() {
            if (block_) {
                pool_->give_back(std::move(block_));
            }
        }
        [[nodiscard]] asio::mutable_buffer buffer() const noexcept {
            return {block_.get(), block_size};
        }
        [[nodiscard]] std::byte* data() const noexcept { return block_.get(); }

      private:
        friend class buffer_pool;
        lease(buffer_pool* pool, std::unique_ptr<std::byte[]> block)
            : pool_(pool), block_(std::move(block)) {}
        buffer_pool* pool_;
        std::unique_ptr<std::byte[]> block_;
    };

    /// `keep`: free blocks kept for reuse; more are freed when returned.
    explicit buffer_pool(std::size_t keep = 16) : keep_(keep) {}

    [[nodiscard]] lease borrow();

    /// Blocks lent now (what the connections hold).
    [[nodiscard]] std::size_t lent() const noexcept { return lent_; }

  private:
    void give_back(std::unique_ptr<std::byte[]> block);

    std::size_t keep_;
    std::size_t lent_ = 0;
    std::vector<std::unique_ptr<std::byte[]>> free_;
};

}  // namespace smux_tunnel

#endif
