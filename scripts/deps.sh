#!/usr/bin/env bash
# Installs the Debian 12 packages zws needs to build, test, fuzz and
# benchmark (chromium: the browser interop test). Calls apt-get only when
# something is missing.
set -euo pipefail

pkgs=(build-essential cmake pkg-config clang llvm libclang-rt-14-dev
      libcmocka-dev libssl-dev zlib1g-dev liburing-dev libjansson-dev
      libcurl4-openssl-dev libsimdjson-dev
      python3-websockets openssl tinyproxy
      chromium) # the headless-browser interop test

missing=()
# Node.js may come from another source than Debian (with npm built in);
# Debian's nodejs lacks npm, which is its own package there.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "zws: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
