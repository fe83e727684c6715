#!/bin/busybox sh
# /init of the host-root VM (see ../hostvm.ts): mounts this machine's root filesystem (9p, read-only)
# under a tmpfs overlay and switch_roots into it, where stage2 runs the script named by kvmnet.run=.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

fail() {
  echo "KVMNET-ERROR $*"
  echo "KVMNET-EXIT 255"
  sleep 0.3
  poweroff -f
}

for m in $(cat /etc/kvmnet/modules); do
  insmod "/lib/modules/$m.ko" || fail "insmod $m"
done

run=
for w in $(cat /proc/cmdline); do
  case "$w" in kvmnet.run=*) run=${w#kvmnet.run=} ;; esac
done
[ -n "$run" ] || fail "no kvmnet.run= on the kernel command line"

mkdir -p /lower /rw /newroot
# cache=loose: the share is read-only and the VM short-lived, and it makes loading node etc. much faster.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /lower || fail "mount 9p hostroot"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot || fail "mount overlay"
[ -e "/newroot$run" ] || fail "script $run not found on the host root filesystem"

mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /newroot/run
mkdir -p /newroot/run/kvmnet
cp /bin/busybox /etc/kvmnet/stage2.sh /newroot/run/kvmnet/
for d in proc sys dev; do
  mkdir -p "/newroot/$d"
  mount --move "/$d" "/newroot/$d"
done
exec switch_root /newroot /run/kvmnet/busybox sh /run/kvmnet/stage2.sh "$run"
