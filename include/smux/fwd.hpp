#ifndef SMUX_FWD_HPP
#define SMUX_FWD_HPP

#include "smux/counters.hpp"
#include "smux/detail/asio_compat.hpp"

namespace smux {

template <class Executor>
class basic_stream;

/// A stream handle on the session's strand; every session hands out this type
/// (smux/stream.hpp defines it).
using stream = basic_stream<net::any_io_executor>;

/// A session over `NextLayer`; `Executor` is the type of the executor it reports (its strand,
/// type-erased) and so decides the default completion token of its operations.
template <class NextLayer, class Executor = net::any_io_executor>
class basic_session;

}  // namespace smux

#endif
