#ifndef SMUX_SMUX_HPP
#define SMUX_SMUX_HPP

// Everything a user of the Asio front end needs.
#include "smux/config.hpp"
#include "smux/counters.hpp"
#include "smux/error.hpp"
#include "smux/received_buffers.hpp"
#include "smux/session.hpp"
#include "smux/stream.hpp"
#include "smux/version.hpp"

#endif
