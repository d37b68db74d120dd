#!/usr/bin/env bash
# One-time setup on a fresh Debian machine with Node.js: the Debian packages the tests and the demo
# use as real parts (.ci/apt-packages), then the npm dependencies. Safe to run again: it installs
# only what is missing and skips `npm ci` while node_modules matches package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
while read -r pkg; do
  case "$pkg" in ''|'#'*) continue ;; esac
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done < .ci/apt-packages

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "setup: these Debian packages are missing: ${need[*]}" >&2
    echo "setup: install them as root, then run this again:  apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit 1
  fi
  echo "setup: apt-get install ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# npm ci writes node_modules/.package-lock.json; when it is newer than the lock file, nothing changed.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund
fi
