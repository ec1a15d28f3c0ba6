#!/usr/bin/env bash
# The command-line contract of smux-echo: the listening line, a client of N streams in both
# protocol versions, bad command lines and invalid configs (exit 2, field named), a demo, a
# server that survives a broken session and exits promptly on SIGTERM and SIGINT.
# Usage: smux_echo_cli_test.sh PATH_TO_SMUX_ECHO
set -uo pipefail
echo_bin=$1
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

start_server() {
  # The previous server's line must not be taken for this one's: the shell may test the file
  # before the new process has opened (and truncated) it.
  rm -f "$work/server.out" "$work/server.err"
  "$echo_bin" server --listen 127.0.0.1:0 "$@" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 1200); do  # at most 60 s: a sanitized build on a loaded machine starts slowly
    [ -s "$work/server.out" ] && break
    sleep 0.05  # allowed-sleep: polling a child process's stdout for its first line
  done
  line=$(head -n 1 "$work/server.out")
  [[ "$line" =~ ^\{\"listening\":\"127\.0\.0\.1:([0-9]+)\",\"pid\":([0-9]+)\}$ ]] ||
    fail "listening line: '$line'"
  [ "${BASH_REMATCH[2]}" = "$server_pid" ] ||
    fail "pid in the listening line: '$line', started as $server_pid ($(ps -o pid=,args= -p "${BASH_REMATCH[2]}" 2>&1))"
  address="127.0.0.1:${BASH_REMATCH[1]}"
}

stop_server() {
  local signal=$1
  kill "-$signal" "$server_pid"
  for _ in $(seq 1200); do  # at most 60 s (a sanitized build checks for leaks at exit)
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05  # allowed-sleep: waiting for a child process to exit
  done
  kill -0 "$server_pid" 2>/dev/null && fail "server still running 60 s after SIG$signal"
  wait "$server_pid"
  local status=$?
  server_pid=""
  [ "$status" -eq 0 ] || fail "server exit status $status after SIG$signal"
  [ "$(wc -l <"$work/server.out")" -eq 1 ] || fail "server printed more than one stdout line"
}

for version in 1 2; do
  start_server --version "$version"
  timeout 30 "$echo_bin" client --connect "$address" --streams 25 --version "$version" \
    >"$work/client.out" || fail "client v$version exit status"
  [ "$(grep -c '" ok$' "$work/client.out")" -eq 25 ] || fail "client v$version: $(cat "$work/client.out")"
  [ "$(cut -d: -f1 "$work/client.out" | sort -u | wc -l)" -eq 25 ] || fail "distinct stream ids"
  # A session that breaks the protocol ends alone; the server keeps serving.
  printf '\x09\x00\x00\x00\x03\x00\x00\x00' >"$work/garbage"
  timeout 30 bash -c "exec 3<>/dev/tcp/${address%:*}/${address#*:}; cat '$work/garbage' >&3; sleep 0.2; exec 3>&-" ||
    fail "garbage connection"
  timeout 30 "$echo_bin" client --connect "$address" --streams 3 --version "$version" >/dev/null ||
    fail "client after a broken session"
  stop_server TERM
done

start_server --no-keepalive
stop_server INT

timeout 30 "$echo_bin" demo --streams 40 --version 2 >"$work/demo.out" || fail "demo exit status"
grep -q "all streams echoed correctly" "$work/demo.out" || fail "demo output"

"$echo_bin" server --listen 127.0.0.1:0 --bogus >"$work/out" 2>"$work/err"
[ $? -eq 2 ] && [ ! -s "$work/out" ] || fail "unknown flag: exit 2, nothing on stdout"
"$echo_bin" server --listen 127.0.0.1:0 --max-frame-size 70000 >"$work/out" 2>"$work/err"
[ $? -eq 2 ] && grep -q "max_frame_size" "$work/err" && grep -q 65535 "$work/err" ||
  fail "invalid config: exit 2, message names the field and the limit: $(cat "$work/err")"
"$echo_bin" client --connect 127.0.0.1:0 --keepalive-interval 5000 --keepalive-timeout 1000 \
  >"$work/out" 2>"$work/err"
[ $? -eq 2 ] && grep -q "keep_alive_timeout" "$work/err" || fail "timeout below interval"
"$echo_bin" >"$work/out" 2>"$work/err"
[ $? -eq 2 ] || fail "no subcommand: exit 2"
echo "smux-echo command line: ok"
