#!/usr/bin/env bash
# Source checks: the sans-I/O core stays free of Asio, and the tree is clang-formatted.
set -euo pipefail
cd "$(dirname "$0")/.."

if grep -rnE '#include *[<"](asio|boost/asio)' include/smux/core src/core; then
  echo "the sans-I/O core must not include Asio" >&2
  exit 1
fi

# The sans-I/O KCP layer too (top level only: include/smux/kcp/asio and src/kcp/asio are
# its Asio front end).
kcp_files=$(find include/smux/kcp src/kcp -maxdepth 1 -type f \( -name '*.hpp' -o -name '*.cpp' \) 2>/dev/null || true)
if [ -n "$kcp_files" ] && grep -nE '#include *[<"](asio|boost/asio)|smux/detail/asio_compat' $kcp_files; then
  echo "the sans-I/O KCP layer (include/smux/kcp, src/kcp) must not include Asio" >&2
  exit 1
fi

files=$(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find include src tests examples tools bench fuzz -name '*.[ch]pp')
bad=""
for f in $files; do
  [ -f "$f" ] || continue
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
if [ -n "$bad" ]; then
  echo "not clang-formatted (run: clang-format -i FILE):$bad" >&2
  exit 1
fi

# The code in the guides is the compiled examples' code, copied by docs/check-snippets.py.
python3 docs/check-snippets.py
