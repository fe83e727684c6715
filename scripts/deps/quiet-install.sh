# Sourced by scripts/deps.sh: an apt-get install that neither starts nor enables a daemon, and leaves nothing
# behind. quiet_begin ROOT before the install, quiet_end after it; an EXIT trap runs quiet_end when the install
# fails half-way. ROOT is the system's root directory ("/"; a test passes a scratch directory).
#  - Starting: a policy-rc.d that refuses every start (exit 101) makes invoke-rc.d (which postinsts call) start
#    nothing; it exists for the install alone, and one the host had before is put back.
#  - Enabling: a postinst's `deb-systemd-helper enable` (docker, containerd, ufw, apparmor...) or `update-rc.d`
#    adds links under /etc/systemd/system (wants, and aliases such as firewalld's D-Bus activation name) and
#    /etc/rc?.d. The links the install added for the daemons below are removed again: the host boots as before.
#    No mask (a link to /dev/null) is ever made, so none can be left behind.
QUIET_DAEMONS='docker|containerd|firewalld|FirewallD|frr|libvirtd|virtlogd|virtlockd|virtproxyd|virtqemud|ufw|apparmor'

# Every symlink that enables a unit or an init script under ROOT, one a line, sorted.
quiet_links() {
  local root=$1
  (
    cd "$root" && find etc/systemd/system etc/rc0.d etc/rc1.d etc/rc2.d etc/rc3.d etc/rc4.d etc/rc5.d etc/rc6.d \
      etc/rcS.d -type l 2>/dev/null | sort
  ) || true
}

# Puts the refusing policy-rc.d in place (the host's own aside) and notes the links there are now.
quiet_begin() {
  QUIET_ROOT=${1%/}
  QUIET_POLICY="$QUIET_ROOT/usr/sbin/policy-rc.d"
  QUIET_BEFORE=$(mktemp)
  quiet_links "$QUIET_ROOT/" >"$QUIET_BEFORE"
  if [[ -e $QUIET_POLICY || -L $QUIET_POLICY ]]; then mv "$QUIET_POLICY" "$QUIET_POLICY.kvmnet-saved"; fi
  mkdir -p "$(dirname "$QUIET_POLICY")"
  printf '#!/bin/sh\n# kvmnet scripts/deps.sh: no daemon starts while its packages are installed.\nexit 101\n' >"$QUIET_POLICY"
  chmod 755 "$QUIET_POLICY"
  trap quiet_end EXIT
}

# Removes the daemons' enabling links the install added, and puts the host's policy-rc.d back (or none).
quiet_end() {
  [[ -n ${QUIET_BEFORE:-} ]] || return 0
  local link
  while read -r link; do
    [[ $(basename "$link") =~ $QUIET_DAEMONS ]] || continue
    rm -f "$QUIET_ROOT/$link"
    echo "deps: not enabling $(basename "$link") (${link%/*})" >&2
  done < <(comm -13 "$QUIET_BEFORE" <(quiet_links "$QUIET_ROOT/"))
  rm -f "$QUIET_POLICY"
  if [[ -e $QUIET_POLICY.kvmnet-saved || -L $QUIET_POLICY.kvmnet-saved ]]; then mv "$QUIET_POLICY.kvmnet-saved" "$QUIET_POLICY"; fi
  rm -f "$QUIET_BEFORE"
  QUIET_BEFORE=
  trap - EXIT
}
