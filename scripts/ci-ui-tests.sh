#!/usr/bin/env bash
# CI step for the tests that need a real VS Code and a real browser: installs Debian's chromium and
# libkrb5-dev, code-server 4.139.1 with Node 24 into the ignored cache .vscode-test/, then runs the
# integration suite (inside code-server's extension host) and the UI test (playwright-core).
# Expects the project's own `npm ci` to have run. Both suites run even if the first fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/include/gssapi/gssapi.h ]; then
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium libkrb5-dev
fi
scripts/vscode-test/install.sh

status=0
npm run test:integration || status=1
npm run test:e2e || status=1
exit $status
