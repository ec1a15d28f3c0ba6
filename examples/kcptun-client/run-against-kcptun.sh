#!/usr/bin/env bash
# Runs the kcptun-client example against Debian's kcptun-server (package kcptun) on 127.0.0.1,
# whose target is a TCP echo server. Exit 77 (the test is skipped) without kcptun-server.
# Usage: run-against-kcptun.sh EXAMPLE_BINARY
set -euo pipefail
example=$1
here=$(dirname "$0")
kcptun_server=$(command -v kcptun-server || true)
if [ -z "$kcptun_server" ]; then
  echo "kcptun-server not installed (Debian package kcptun): skipped"
  exit 77
fi

pids=()
stop_children() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true  # reaped here, not left behind
  done
}
trap stop_children EXIT

coproc ECHO { exec python3 -u "$here/tcp_echo.py"; }
pids+=("$ECHO_PID")
read -r echo_port <&"${ECHO[0]}"  # once it listens

udp_port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# No readiness line to wait for: KCP retransmits whatever the example sends before the
# server has bound its port.
"$kcptun_server" -l "127.0.0.1:$udp_port" -t "127.0.0.1:$echo_port" --quiet &
pids+=("$!")

"$example" "127.0.0.1:$udp_port"
