#!/usr/bin/env bash
# Installs the pinned Node peer (ws, see package.json and package-lock.json)
# into tests/interop/node_modules, which git ignores. Run by CTest as the
# setup fixture of every test with a Node peer. Needs node >= 18 and npm, and
# the npm registry only when ws is missing or at another version.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "npm_setup.sh: FAIL: '$tool' not found (apt-get install nodejs npm)" >&2; exit 1; }
done
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
    echo "npm_setup.sh: FAIL: node $(node --version) is too old; the peers need 18 or later" >&2
    exit 1
fi

# The gcc and sanitizer trees run this in the same CTest run, and npm ci
# starts by deleting node_modules: one install at a time.
exec 9<"$here/package.json"
flock -w 300 9 || { echo "npm_setup.sh: FAIL: could not lock $here/package.json" >&2; exit 1; }

version_of() {
    node -p "try { require('$1').version } catch (e) { '' }"
}
want=$(node -p "require('$here/package-lock.json').packages['node_modules/ws'].version")
have=$(version_of "$here/node_modules/ws/package.json")
if [ "$have" = "$want" ]; then
    echo "npm_setup.sh: ws $have already in $here/node_modules (node $(node --version))"
    exit 0
fi
echo "npm_setup.sh: installing ws $want with npm ci (had '${have:-none}')"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
have=$(version_of "$here/node_modules/ws/package.json")
if [ "$have" != "$want" ]; then
    echo "npm_setup.sh: FAIL: after npm ci, ws is '${have:-missing}', expected $want" >&2
    exit 1
fi
echo "npm_setup.sh: ws $have installed (node $(node --version))"
