#!/usr/bin/env bash
# The shared libraries (BUILD_SHARED_LIBS=ON): configures a scratch build of the source tree
# that makes the libraries only (KCP on; tests, tools, examples and docs off), builds and
# installs it into a scratch prefix, then checks
#   - each installed .so names its SONAME (readelf -d), and that link exists;
#   - what each exports: the public API, nothing that only src/ declares, and every function
#     the public headers declare and src/ defines (exported_symbols.py says how);
#   - the consumer project builds against it with find_package(smux COMPONENTS kcp ssl),
#     links the shared libraries, and its programs run.
# The CPU time of the scratch build is printed: it is most of this test's cost.
# Usage: shared.sh SOURCE_DIR SCRATCH_DIR SOVERSION CMAKE_GENERATOR CXX_COMPILER [BUILD_TYPE]
set -euo pipefail
src=$1 scratch=$2 soversion=$3 generator=$4 cxx=$5 build_type=${6:-Release}
rm -rf "$scratch"
mkdir -p "$scratch"
build="$scratch/build" prefix="$scratch/prefix"

# Two jobs at most (fewer with CMAKE_BUILD_PARALLEL_LEVEL=1): the machine running the suite
# runs other tests beside this one.
jobs=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
((jobs <= 2)) || jobs=2
# shellcheck disable=SC2016 # the inner script's $1.. are its own arguments
/usr/bin/time -o "$scratch/cpu-time" -f "%U %S %e" bash -c '
  set -euo pipefail
  cmake -S "$1" -B "$2" -G "$4" -DCMAKE_CXX_COMPILER="$5" -DCMAKE_BUILD_TYPE="$6" \
        -DCMAKE_INSTALL_PREFIX="$3" -DBUILD_SHARED_LIBS=ON -DSMUX_BUILD_KCP=ON \
        -DSMUX_BUILD_TESTS=OFF -DSMUX_BUILD_TOOLS=OFF -DSMUX_BUILD_EXAMPLES=OFF \
        -DSMUX_BUILD_DOCS=OFF -DSMUX_WERROR=ON >/dev/null
  cmake --build "$2" -j "$7" >/dev/null
  cmake --install "$2" >/dev/null
' shared-build "$src" "$build" "$prefix" "$generator" "$cxx" "$build_type" "$jobs"
read -r user system elapsed <"$scratch/cpu-time"
echo "scratch build of the shared libraries: ${user} s user + ${system} s system CPU," \
     "${elapsed} s elapsed (configure, build -j$jobs, install)"

libdir=$(dirname "$(find "$prefix" -name libsmux.so -print -quit)")
args=()
for lib in smux_core smux smux_kcp smux_kcp_asio; do
  so="$libdir/lib$lib.so"
  soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
  if [[ "$soname" != "lib$lib.so.$soversion" || ! -e "$libdir/$soname" ]]; then
    echo "lib$lib.so: SONAME '$soname', expected lib$lib.so.$soversion next to it" >&2
    exit 1
  fi
  echo "lib$lib.so: SONAME $soname"
  args+=("$so" "$build/CMakeFiles/$lib.dir")
done
python3 "$src/tests/package/exported_symbols.py" "$src" "${args[@]}"

# The libraries are found as they would be in a system directory.
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  "$src/tests/package/consumer.sh" "$src" "$prefix" "$scratch/consumer" "kcp;ssl"
for program in consumer:libsmux.so consumer_kcp:libsmux_kcp_asio.so; do
  if ! readelf -d "$scratch/consumer/${program%%:*}" | grep -q "NEEDED.*\[${program#*:}\.$soversion\]"; then
    echo "${program%%:*} does not link ${program#*:}.$soversion" >&2
    exit 1
  fi
done
echo "shared libraries: SONAMEs, exported symbols, and consumers built and ran against them"
