#!/run/kvmnet/busybox sh
# PID 1 after switch_root into the host root overlay: finishes the mounts, runs "bash $1" with its
# output on the console between KVMNET-BEGIN and "KVMNET-EXIT <code>", then powers off.
bb=/run/kvmnet/busybox
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8 KVMNET_VM=1
mkdir -p /dev/pts /dev/shm /tmp /run/lock /sys/fs/cgroup
$bb mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
$bb mount -t tmpfs -o nosuid,nodev tmpfs /dev/shm
$bb mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
chmod 1777 /tmp
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
$bb hostname kvmnet-vm
ip link set lo up 2>/dev/null || $bb ip link set lo up
echo KVMNET-BEGIN
cd /tmp
bash "$1" </dev/null 2>&1
code=$?
echo "KVMNET-EXIT $code"
sync
$bb sleep 0.3 # let the UART drain before the power goes
$bb poweroff -f
