#!/bin/busybox sh
# /init of the kvmnet test guest (see ../initramfs.ts). Reads kvmnet.* words from the kernel
# command line, configures eth0, runs the checks and prints "KVMNET-RESULT ..." lines on the console:
#   kvmnet.ip=dhcp | kvmnet.ip=ADDR/PREFIX[,gw=IP][,dns=IP]
#   kvmnet.hostname=NAME  kvmnet.ping=IP[,IP] (IPv4 or IPv6)  kvmnet.resolve=NAME[,NAME]
#   kvmnet.tries=N (attempts per ping/resolve, 1 s each, default 10)
#   kvmnet.wait=SECONDS (stay up before powering off)
#   kvmnet.fetch=IP:PORT[,IP:PORT] (TCP connect, print the first line the server sends)
#   kvmnet.download=IP:PORT/PATH (HTTP GET, prints "download IP:PORT/PATH bytes=N ms=M"; ms from /proc/uptime)
#   kvmnet.serve=PORT (HTTP on PORT serving "kvmnet-guest HOSTNAME"; prints "serving PORT")
#   kvmnet.watch=IP[,IP] kvmnet.watchsecs=N (ping each every 0.2 s for N s, default 10, all at once;
#     prints "watch-start" first, then "watch IP sent=N received=M")
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

now() { read -r up _ </proc/uptime; echo "$up"; }
res() { echo "KVMNET-RESULT $* t=$(now)"; }
finish() {
  res done
  sleep 0.3 # let the UART drain before the power goes
  poweroff -f
}

for m in $(cat /etc/kvmnet/modules); do
  insmod "/lib/modules/$m.ko" || res "error insmod $m"
done

cfg_download= cfg_serve= cfg_ip= cfg_host= cfg_ping= cfg_resolve= cfg_wait=0 cfg_tries=10 cfg_fetch= cfg_watch= cfg_watchsecs=10
for w in $(cat /proc/cmdline); do
  case "$w" in
    kvmnet.ip=*) cfg_ip=${w#kvmnet.ip=} ;;
    kvmnet.hostname=*) cfg_host=${w#kvmnet.hostname=} ;;
    kvmnet.ping=*) cfg_ping=${w#kvmnet.ping=} ;;
    kvmnet.resolve=*) cfg_resolve=${w#kvmnet.resolve=} ;;
    kvmnet.wait=*) cfg_wait=${w#kvmnet.wait=} ;;
    kvmnet.tries=*) cfg_tries=${w#kvmnet.tries=} ;;
    kvmnet.fetch=*) cfg_fetch=${w#kvmnet.fetch=} ;;
    kvmnet.watch=*) cfg_watch=${w#kvmnet.watch=} ;;
    kvmnet.watchsecs=*) cfg_watchsecs=${w#kvmnet.watchsecs=} ;;
    kvmnet.serve=*) cfg_serve=${w#kvmnet.serve=} ;;
    kvmnet.download=*) cfg_download=${w#kvmnet.download=} ;;
  esac
done

ip link set lo up
[ -n "$cfg_host" ] && hostname "$cfg_host"
res boot

i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -e /sys/class/net/eth0 ]; then
  res "error no-eth0"
  finish
fi
res "mac $(cat /sys/class/net/eth0/address)"

if [ "$cfg_ip" = dhcp ]; then
  if ! udhcpc -i eth0 -s /etc/kvmnet/udhcpc.script -n -q -t 20 -T 1 ${cfg_host:+-x hostname:$cfg_host} >/tmp/udhcpc.log 2>&1; then
    res "lease fail"
  fi
  # How many DISCOVERs it took: more than one means one went unanswered (a port not yet forwarding, a lost packet).
  res "dhcp discovers=$(grep -c 'discover' /tmp/udhcpc.log)"
elif [ -n "$cfg_ip" ]; then
  addr=${cfg_ip%%,*} gw= dns=
  for kv in $(echo "$cfg_ip" | tr , ' '); do
    case "$kv" in
      gw=*) gw=${kv#gw=} ;;
      dns=*) dns=${kv#dns=} ;;
    esac
  done
  ip link set eth0 up
  ip addr add "$addr" dev eth0
  [ -n "$gw" ] && ip route add default via "$gw" dev eth0
  [ -n "$dns" ] && echo "nameserver $dns" >/etc/resolv.conf
  res "static ip=$addr router=$gw dns=$dns"
fi

if [ -n "$cfg_serve" ]; then
  mkdir -p /www && echo "kvmnet-guest $(hostname)" >/www/index.html
  httpd -p "$cfg_serve" -h /www && res "serving $cfg_serve"
fi

for target in $(echo "$cfg_ping" | tr , ' '); do
  ok=fail i=0
  while [ $i -lt "$cfg_tries" ]; do
    if ping -c 1 -W 1 "$target" >/dev/null 2>&1; then ok=ok; break; fi
    # An IPv6 target fails at once until SLAAC has given eth0 an address and a route (no 1 s timeout then).
    case "$target" in *:*) sleep 1 ;; esac
    i=$((i + 1))
  done
  res "ping $target $ok"
done

for name in $(echo "$cfg_resolve" | tr , ' '); do
  addr=fail i=0
  while [ $i -lt "$cfg_tries" ]; do
    a=$(nslookup -type=a "$name" 2>/dev/null | sed -n '/^Name:/,$ s/^Address[^:]*: *\([0-9.]*\).*/\1/p' | head -n 1)
    if [ -n "$a" ]; then addr=$a; break; fi
    sleep 1
    i=$((i + 1))
  done
  res "resolve $name $addr"
done

for target in $(echo "$cfg_fetch" | tr , ' '); do
  line=fail i=0
  while [ $i -lt "$cfg_tries" ]; do
    l=$(nc -w 2 "${target%:*}" "${target##*:}" </dev/null 2>/dev/null | head -n 1 | tr -d ' \r')
    if [ -n "$l" ]; then line=$l; break; fi
    sleep 1
    i=$((i + 1))
  done
  res "fetch $target $line"
done

if [ -n "$cfg_watch" ]; then
  res watch-start
  for target in $(echo "$cfg_watch" | tr , ' '); do
    ping -i 0.2 -w "$cfg_watchsecs" -W 1 "$target" >/tmp/watch.$target 2>&1 &
  done
  wait
  for target in $(echo "$cfg_watch" | tr , ' '); do
    set -- $(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) packets received.*/\1 \2/p' /tmp/watch.$target) 0 0
    res "watch $target sent=$1 received=$2"
  done
fi

for target in $(echo "$cfg_download" | tr , ' '); do
  t0=$(cut -d ' ' -f 1 /proc/uptime | tr -d .)
  n=$(wget -q -O - "http://$target" 2>/dev/null | wc -c)
  t1=$(cut -d ' ' -f 1 /proc/uptime | tr -d .)
  res "download $target bytes=$n ms=$(((t1 - t0) * 10))"
done

[ "$cfg_wait" != 0 ] && sleep "$cfg_wait"
finish
