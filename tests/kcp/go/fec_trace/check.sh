#!/bin/sh
# Runs run.sh and checks that kcp-go still prints the vectors pasted into the go_trace table of
# the C++ test given as $1 (tests/kcp/fec_trace_test.cpp), line for line: the Go side and the
# C++ expectations must not drift apart.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cpp_test=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The table's rows, from "constexpr scenario go_trace[] = {" to the closing "};".
sed -n '/^constexpr scenario go_trace\[\] = {$/,/^};$/p' "$cpp_test" |
  sed -n 's/^ *\({.*},\)$/\1/p' >"$tmp/expected"
if [ ! -s "$tmp/expected" ]; then
  echo "no go_trace rows found in $cpp_test" >&2
  exit 1
fi
sh "$here/run.sh" >"$tmp/actual"
if ! diff -u "$tmp/expected" "$tmp/actual"; then
  echo "run.sh (kcp-go, above: +) no longer prints the vectors of $cpp_test (-)" >&2
  exit 1
fi
echo "kcp-go prints the $(wc -l <"$tmp/expected") go_trace rows of $cpp_test"
