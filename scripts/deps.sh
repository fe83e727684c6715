#!/usr/bin/env bash
# Install the Debian packages kvmnet needs (idempotent; run as root on Debian 12).
#   bash scripts/deps.sh demo   what the demo needs: scripts/deps/demo.list (no daemon among them)
#   bash scripts/deps.sh test   that, plus what the test suite needs: scripts/deps/test.list, and the .debs of
#                               scripts/deps/vm.list downloaded (not installed) for the test VMs
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
# Packages the Debian-kernel test VMs install into their own RAM overlay of this root fs (test/vm/hostvm.ts), never
# on the host: systemd-resolved's postinst would turn the host's /etc/resolv.conf into a link to its stub.
VM_DEBS=/var/cache/kvmnet-vm-debs
if [[ $what == test ]]; then
  mapfile -t vmpkgs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/deps/vm.list" | awk '{print $1}')
  mkdir -p "$VM_DEBS"
  for p in "${vmpkgs[@]}"; do
    v=$(dpkg-query -W -f='${Version}' systemd 2>/dev/null || true) # the VM's systemd is the host's: same version
    compgen -G "$VM_DEBS/${p}_${v/:/%3a}_*.deb" >/dev/null && continue
    [[ -n ${updated:-} ]] || { apt-get update -qq && updated=1; }
    (cd "$VM_DEBS" && apt-get download -qq "$p${v:+=$v}" 2>/dev/null)
  done
fi
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
