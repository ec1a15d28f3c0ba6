#!/usr/bin/env bash
# clang-tidy 14 with the repository's .clang-tidy over the library's code: every source file
# under src/, and tests/tidy/public_headers.cpp, which includes every public header and
# instantiates their templates (code in a header is only analysed where a translation unit
# uses it). Diagnostics are reported for files under include/ and src/ only, and any of them
# fails the run.
# It configures the clang preset (clang 14) for its compile_commands.json and builds nothing
# (configuring writes the generated smux/version.hpp).
# Usage: scripts/tidy.sh [-j N | -jN]    N clang-tidy processes at once (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=1
if [ "${1:-}" = "-j" ] && [ -n "${2:-}" ]; then
  jobs=$2
elif [[ "${1:-}" =~ ^-j([0-9]+)$ ]] && [ $# -eq 1 ]; then
  jobs=${BASH_REMATCH[1]}
elif [ $# -gt 0 ]; then
  echo "usage: $0 [-j N]" >&2
  exit 2
fi

tidy=${CLANG_TIDY:-clang-tidy-14}
build=build/clang
cmake --preset clang >/dev/null
if [ ! -f "$build/compile_commands.json" ]; then
  echo "$build/compile_commands.json is missing" >&2
  exit 1
fi

files=$(find src -name '*.cpp' | sort)
files="$files tests/tidy/public_headers.cpp"
# A file without a compile command would be analysed with guessed flags: refuse instead.
for f in $files; do
  if ! grep -qF "\"file\": \"$PWD/$f\"" "$build/compile_commands.json"; then
    echo "$f has no compile command in $build/compile_commands.json (is its target configured?)" >&2
    exit 1
  fi
done

# Headers of this checkout only (the path anchored here, unlike .clang-tidy's regex, which
# cannot know where the checkout lies).
root_regex=$(printf '%s' "$PWD" | sed 's/[][\.*^$+?(){}|]/\\&/g')
export tidy build header_filter="^$root_regex/(include|src)/"

# One file: its diagnostics (clang's "N warnings generated." counts of the suppressed ones
# left out) and a non-zero status when there was any.
tidy_one() {
  local f=$1 out status=0
  out=$("$tidy" -p "$build" --quiet --warnings-as-errors='*' --header-filter="$header_filter" \
    "$f" 2>&1) || status=$?
  out=$(printf '%s\n' "$out" | grep -vE '^[0-9]+ (warning|error)s? (generated|treated as errors)\.$' || true)
  if [ "$status" -ne 0 ] || [ -n "$out" ]; then
    printf '=== %s\n%s\n' "$f" "$out"
    return 1
  fi
}
export -f tidy_one

echo "clang-tidy on $(echo "$files" | wc -w) files, $jobs at a time" >&2
if printf '%s\n' $files | xargs -P "$jobs" -n 1 bash -c 'tidy_one "$1"' tidy_one; then
  echo "clang-tidy: no diagnostics" >&2
else
  echo "clang-tidy: diagnostics above" >&2
  exit 1
fi
