#!/usr/bin/env bash
# The main job on a built-in default, from a fresh Debian 12 (as root): install what it needs, build, and
# show a real QEMU guest getting its network from kvmnet on a NAT network inside throwaway namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh demo
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
npx tsx scripts/demo.ts
