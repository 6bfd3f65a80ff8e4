#!/usr/bin/env bash
# CI step for the tests that need a real VS Code and a real browser: installs Debian's chromium and
# libkrb5-dev, code-server 4.139.1 with Node 24 into the ignored cache .vscode-test/, then runs
#   1. the integration suite (inside code-server's extension host),
#   2. the UI test (playwright-core, the extension from this folder),
#   3. two windows sharing one engine, and its restart after SIGKILL (issue 12),
#   4. the packaged VSIX installed with --install-extension, with and without the patched binary (issue 11).
# Every run has its own CLASP_ENGINE_DIR and stops the engine it started. Expects the project's own
# `npm ci` and `npm run models` (SmolLM2) to have run. Every step runs even if an earlier one failed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/include/gssapi/gssapi.h ]; then
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium libkrb5-dev
fi
scripts/vscode-test/install.sh

status=0
step() { # $1 = name, rest = command; prints the step's wall time
    local name="$1" started=$SECONDS
    shift
    echo "=== $name"
    if "$@"; then echo "=== $name: passed in $((SECONDS - started)) s"; else echo "=== $name: FAILED after $((SECONDS - started)) s"; status=1; fi
}

step "integration suite" npm run test:integration
step "UI test" npm run test:e2e
# dist/ is the development build test:e2e just made.
step "two windows, one engine" node --import tsx test/e2e/twoWindows.ts

# After the tests of the development build: npm run package replaces dist/ with production bundles.
version="$(node -p 'require("./package.json").version')"
vsix="clasp-complete-$version-linux-x64.vsix"
stock_vsix="out/vsix/clasp-complete-$version-linux-x64-stock.vsix"
package_both() {
    mkdir -p out/vsix
    rm -f "$vsix" "$stock_vsix"
    npm run package && npm run package -- --without-patched-binary --out "$stock_vsix"
}
step "package the VSIX (patched, and stock binary only)" package_both
if [ -f "$vsix" ] && [ -f "$stock_vsix" ]; then
    ls -l "$vsix" "$stock_vsix"
    step "installed VSIX" node --import tsx test/e2e/installedVsix.ts --vsix "$vsix" --stock-vsix "$stock_vsix"
fi

# Each driver stops what it started; this is the check that nothing of any run is left.
leftover="$(ps -eo pid,args | grep -E -- "--dir ${TMPDIR:-/tmp}/clasp-vscode-|code-server/out/node/entry.js|clasp-chromium-" | grep -v grep || true)"
if [ -n "$leftover" ]; then
    echo "=== processes left over from the UI tests:"
    echo "$leftover"
    status=1
fi
exit $status
