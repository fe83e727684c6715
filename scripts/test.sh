#!/usr/bin/env bash
# Set up and run the whole test suite (unit, namespace, QEMU end-to-end) on Debian 12, as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# `npm ci` refuses lock files written by npm 11 here (optional rollup binaries for other platforms are
# left out of the lock), so install from the lock with `npm install`.
npm install --no-audit --no-fund --loglevel=error
npm run typecheck
npm test
