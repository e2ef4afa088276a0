#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds a consumer with
# find_package(zws) and another with pkg-config, and checks that the shared
# library exports zws_ symbols only. Then, with cmocka hidden from
# pkg-config: zws configures with -DZWS_BUILD_TESTS=OFF and as another
# project's subproject (no tests by default there), and asked for tests
# it stops with a message saying what is missing.
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

# A pkg-config that knows every package but those in $ZWS_HIDE.
real_pc=$(command -v pkg-config)
hide=$build/install_check/pkg-config
cat >"$hide" <<EOS
#!/bin/sh
for a in "\$@"; do for h in \$ZWS_HIDE; do [ "\$a" = "\$h" ] && exit 1; done; done
exec "$real_pc" "\$@"
EOS
chmod +x "$hide"
configure() { # hidden packages, source, build dir, options...
    local h=$1 s=$2 b=$3
    shift 3
    ZWS_HIDE=$h cmake -S "$s" -B "$b" -DPKG_CONFIG_EXECUTABLE="$hide" "$@" >"$b.log" 2>&1
}
ic=$build/install_check
if ! configure cmocka "$src" "$ic/no_tests" -DZWS_BUILD_TESTS=OFF; then
    cat "$ic/no_tests.log"; echo "-DZWS_BUILD_TESTS=OFF still needs cmocka"; exit 1
fi
# A subproject gets no tests, benchmarks or tools unless asked for.
if ! configure "cmocka jansson" "$src/tests/install/subproject" "$ic/subproject" \
        -DZWS_SOURCE_DIR="$src"; then
    cat "$ic/subproject.log"; echo "zws as a subproject needs cmocka"; exit 1
fi
if configure cmocka "$src" "$ic/tests_wanted" -DZWS_BUILD_TESTS=ON; then
    echo "tests asked for without cmocka, yet the configuration passed"; exit 1
fi
if ! grep -q "the unit tests need cmocka" "$ic/tests_wanted.log"; then
    cat "$ic/tests_wanted.log"; echo "no word of cmocka"; exit 1
fi
echo "without cmocka: configures with tests off and as a subproject; asked for tests, says what is missing"
