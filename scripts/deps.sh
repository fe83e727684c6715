#!/usr/bin/env bash
# Install the Debian packages kvmnet and its tests use (idempotent; run as root on Debian 12).
# Runtime: iproute2, nftables, iptables, dnsmasq-base. Tests: busybox-static (udhcpc, ping, nc, nslookup in
# guests), hyperfine and iperf3 (benchmarks: hook start-up, data-plane throughput), qemu-system-x86 +
# linux-image-amd64 (real guests, and a kernel with 802.1Q for the VLAN test), xz-utils (unpacking the guest
# kernel once, for a faster boot), systemd, man-db and groff-base (the .deb test checks the unit and renders
# the man pages), libvirt-daemon + libvirt-daemon-driver-qemu + libvirt-clients (the e2e case that runs a
# real libvirtd, in its own namespaces; without -system nothing is started or defined on the host), apparmor
# (apparmor_parser and aa-exec: the .deb's hooks against Debian's libvirtd profile, in a Debian-kernel VM), strace
# (the warm-path test: every tool is spawned by its absolute path, no execve fails).
set -euo pipefail
pkgs=(iproute2 nftables iptables dnsmasq-base busybox-static hyperfine iperf3 qemu-system-x86 linux-image-amd64 xz-utils kmod systemd man-db groff-base
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients apparmor ufw python3 conntrack docker.io firewalld python3-prometheus-client frr strace)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  # firewalld (tests run a real one in a namespace): masked before it is installed, so neither its postinst nor
  # D-Bus activation starts it on this host (policy-rc.d may be absent on a fresh machine); an existing unit stays.
  if [[ " ${missing[*]} " == *" firewalld "* && ! -e /etc/systemd/system/firewalld.service ]]; then ln -s /dev/null /etc/systemd/system/firewalld.service; fi
  # frr (the EVPN test runs zebra and bgpd per namespace, with their own files): its postinst runs `invoke-rc.d frr
  # start`; masked for systemd, and refused by a policy-rc.d (exit 101) for the install when there is none (no systemd).
  if [[ " ${missing[*]} " == *" frr "* && ! -e /etc/systemd/system/frr.service ]]; then ln -s /dev/null /etc/systemd/system/frr.service; fi
  if [[ " ${missing[*]} " == *" frr "* && ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "installed: ${missing[*]}"
fi
