#!/usr/bin/env bash
# Install the Debian packages kvmnet needs (idempotent; run as root on Debian 12).
#   bash scripts/deps.sh demo   what the demo needs: scripts/deps/demo.list (no daemon among them)
#   bash scripts/deps.sh test   that, plus what the test suite needs: scripts/deps/test.list
# Daemons are installed, never started or enabled: see scripts/deps/quiet-install.sh.
set -euo pipefail
here="$(dirname "$0")"
what="${1:-}"
case "$what" in
  demo) lists=("$here/deps/demo.list") ;;
  test) lists=("$here/deps/demo.list" "$here/deps/test.list") ;;
  *)
    echo "usage: bash scripts/deps.sh demo|test" >&2
    exit 2
    ;;
esac
mapfile -t pkgs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "${lists[@]}" | awk '{print $1}')
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
((${#missing[@]})) || exit 0
# shellcheck source=deps/quiet-install.sh
source "$here/deps/quiet-install.sh"
quiet_begin /
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
quiet_end
echo "installed: ${missing[*]}"
