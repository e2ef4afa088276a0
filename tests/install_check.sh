#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds a consumer with
# find_package(zws) and another with pkg-config, and checks that the shared
# library exports zws_ symbols only.
set -euo pipefail
build=$1 src=$2
prefix=$build/install_check/prefix
rm -rf "$build/install_check"
cmake --install "$build" --prefix "$prefix" >/dev/null

cmake -S "$src/tests/install" -B "$build/install_check/cmake" \
    -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$build/install_check/cmake" >/dev/null
LD_LIBRARY_PATH=$prefix/lib:$prefix/lib64 "$build/install_check/cmake/consumer"

libdir=$(dirname "$(find "$prefix" -name zws.pc)")
export PKG_CONFIG_PATH=$libdir
# shellcheck disable=SC2046
cc -o "$build/install_check/pc_consumer" "$src/tests/install/consumer.c" \
    $(pkg-config --cflags --libs zws)
LD_LIBRARY_PATH=$libdir/.. "$build/install_check/pc_consumer"

so=$(find "$prefix" -name 'libzws.so' | head -1)
bad=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | grep -v '^zws_' || true)
if [ -n "$bad" ]; then
    echo "exported symbols without the zws_ prefix:"; echo "$bad"; exit 1
fi
echo "exports: $(nm -D --defined-only "$so" | grep -c ' zws_') zws_ symbols, nothing else"
