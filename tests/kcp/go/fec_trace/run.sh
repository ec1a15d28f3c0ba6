#!/bin/sh
# Runs fec_trace_test.go inside a scratch copy of Debian's kcp-go 5.6.1: the trace needs kcp-go's
# unexported fecEncoder and fecDecoder, which only code in package kcp can reach. Its output is
# pasted into tests/kcp/fec_trace_test.cpp (check.sh, a ctest, compares the two). Nothing outside
# the scratch directory is changed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/github.com/xtaci"
cp -r /usr/share/gocode/src/github.com/xtaci/kcp-go "$tmp/src/github.com/xtaci/"
chmod -R u+w "$tmp/src"
rm -f "$tmp"/src/github.com/xtaci/kcp-go/*_test.go
cp "$here/fec_trace_test.go" "$tmp/src/github.com/xtaci/kcp-go/"
cd "$tmp/src/github.com/xtaci/kcp-go"
GO111MODULE=off GOPATH="$tmp:/usr/share/gocode" GOCACHE="$tmp/cache" go test -count=1 -run TestFECTrace -v . |
  grep '^{'
