#ifndef SMUX_TESTS_HOSTILE_HOSTILE_SUPPORT_HPP
#define SMUX_TESTS_HOSTILE_HOSTILE_SUPPORT_HPP

// Shared pieces of the hostile-peer tests, one header per concern:
//   hostile_watch.hpp     time limits, watchdog, progress watching, the fixtures' shared `run`
//   raw_peer.hpp          the attacker (raw frames over TCP) and its checked inbound frames
//   echo_process.hpp      the smux-echo server as a child process (port, stderr log, exit)
//   hostile_targets.hpp   server settings, the in-process echo server, a well-behaved client
//   memory_bounds.hpp     the bounds of SECURITY.md and resident memory from /proc
// The frame builders are support/wire.hpp's.

#include "echo_process.hpp"
#include "hostile_targets.hpp"
#include "hostile_watch.hpp"
#include "memory_bounds.hpp"
#include "raw_peer.hpp"

#endif
