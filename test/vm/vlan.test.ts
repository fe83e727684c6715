// mode = bridge with vlan and trunk, proven where 802.1Q exists: inside a QEMU VM booted with Debian's
// kernel on this machine's own root fs (test/vm/hostvm.ts). In the VM: a "host" namespace runs kvmnet's
// qemu-ifup-bridge for two VLANs over one trunk veth; guests in VLAN 10 and 20 share one subnet, so only
// the VLAN keeps them apart; the far end of the trunk has a namespace per VLAN. The VLAN bridge kvmnet makes takes
// no router advertisement: a guest's forged one gives the host no route and no address (with a control).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/netns.js";
import { runInDebianKernelVM } from "./hostvm.js";
import { RA_PY } from "../helpers/ra.js";

const canRun = process.getuid?.() === 0 && existsSync("/usr/bin/qemu-system-x86_64");

// Runs inside the VM. Prints "R name value" lines for the test to check; never stops at a failed check.
const script = (dist: string) => `set -u
R() { echo "R $1 $2"; }
ok() { if "$@" >/dev/null 2>&1; then echo yes; else echo no; fi; }
echo "kernel $(uname -r)"
for ns in host far10 far20 g10a g10b g20a; do ip netns add $ns; ip -n $ns link set lo up; done
# The trunk: host's trunk0 <-> far10's eth0, which carries eth0.10 (far10) and eth0.20 (moved to far20).
ip -n host link add trunk0 type veth peer name eth0 netns far10
ip -n host link set trunk0 up; ip -n far10 link set eth0 up
ip -n far10 link add link eth0 name eth0.10 type vlan id 10
ip -n far10 link add link eth0 name eth0.20 type vlan id 20
ip -n far10 link set eth0.20 netns far20
ip -n far10 addr add 192.0.2.100/24 dev eth0.10; ip -n far10 link set eth0.10 up
ip -n far20 addr add 192.0.2.200/24 dev eth0.20; ip -n far20 link set eth0.20 up
guest() { ip -n host link add $2 type veth peer name eth0 netns $1; ip -n host link set $2 up; ip -n $1 addr add $3/24 dev eth0; ip -n $1 link set eth0 up; }
guest g10a t10a 192.0.2.11; guest g10b t10b 192.0.2.12; guest g20a t20a 192.0.2.21
mkdir -p /tmp/k && chmod 755 /tmp/k
cat > /tmp/k/kvmnet.conf <<'CONF'
[global]
state_dir = /tmp/k/run
lease_dir = /tmp/k/lib
[v10]
mode = bridge
bridge = brv10
vlan = 10
trunk = trunk0
taps = t10*
[v20]
mode = bridge
bridge = brv20
vlan = 20
trunk = trunk0
taps = t20*
teardown = when-idle
CONF
chmod 644 /tmp/k/kvmnet.conf
hook() { ip netns exec host env KVMNET_CONFIG=/tmp/k/kvmnet.conf KVMNET_VERBOSE=1 ${dist}/$1.cjs $2 2>/tmp/k/err; rc=$?; R "$1-$2\${3:-}-rc" $rc; R "$1-$2\${3:-}-log" "$(tr '\\n' '|' </tmp/k/err)"; }
hook qemu-ifup-bridge t10a; hook qemu-ifup-bridge t10b; hook qemu-ifup-bridge t20a
R links "$(ip -n host -o -d link show | grep -o 'trunk0\\.[0-9]*@trunk0.*vlan protocol 802.1Q id [0-9]*' | sed 's/@.*id / id /' | tr '\\n' ',')"
R brv10-ports "$(ip netns exec host ls /sys/class/net/brv10/brif | tr '\\n' ',')"
R brv20-ports "$(ip netns exec host ls /sys/class/net/brv20/brif | tr '\\n' ',')"
# Again: nothing to do.
hook qemu-ifup-bridge t10a -again
# A VLAN bridge kvmnet made takes no router advertisement: g10a forges one (router lifetime 1800 s, prefix
# 2001:db8:bad::/64 for autoconfiguration), and the host learns no route and no address. Control: with accept_ra
# and autoconf put back to 1 by hand, the same RA gives the host both; the next hook turns them off again.
sc() { ip netns exec host cat /proc/sys/net/ipv6/conf/brv10/$1; }
R brv10-ra "$(sc accept_ra)/$(sc autoconf)"
cat > /tmp/k/ra.py <<'PY'
${RA_PY}PY
for i in $(seq 100); do ip -n g10a -6 -o addr show dev eth0 scope link | grep -q tentative || break; sleep 0.1; done
ra() { ip netns exec g10a python3 /tmp/k/ra.py eth0 2001:db8:bad:: >/dev/null 2>&1; }
learned() { echo "$(ip -n host -6 route show default | cut -d' ' -f1-5)+$(ip -n host -6 -o addr show dev brv10 | grep -c '2001:db8:bad:')"; }
for i in 1 2 3; do ra; sleep 0.5; done
R ra-learned "$(learned)"
ip netns exec host sh -c 'echo 1 > /proc/sys/net/ipv6/conf/brv10/accept_ra; echo 1 > /proc/sys/net/ipv6/conf/brv10/autoconf'
for i in $(seq 40); do ra; sleep 0.5; case "$(learned)" in default*+1) break ;; esac; done
R ra-learned-control "$(learned)"
hook qemu-ifup-bridge t10b -fix
R brv10-ra-fixed "$(sc accept_ra)/$(sc autoconf)"
# An ARP counter on each guest's eth0 (netdev ingress): what reaches it on the wire.
for g in g10a g10b g20a; do ip netns exec $g nft -f - <<'NFT'
table netdev arpcount {
  chain in { type filter hook ingress device "eth0" priority 0; policy accept; arp operation request counter; }
}
NFT
done
arps() { ip netns exec $1 nft list chain netdev arpcount in | grep -o 'packets [0-9]*' | cut -d' ' -f2; }
R g20a-arp-before "$(arps g20a)"; R g10b-arp-before "$(arps g10b)"
# g10a asks for everyone by ARP; only its own VLAN hears it.
ip netns exec g10a busybox arping -c 3 -w 4 -I eth0 192.0.2.21 >/dev/null 2>&1; R arping-10-to-20 $?
ip netns exec g10a busybox arping -c 3 -w 4 -I eth0 192.0.2.200 >/dev/null 2>&1; R arping-10-to-far20 $?
ip netns exec g10a busybox arping -c 1 -w 3 -I eth0 192.0.2.12 >/dev/null 2>&1; R arping-10-to-10 $?
R g20a-arp-after "$(arps g20a)"; R g10b-arp-after "$(arps g10b)"
R g20a-neigh "$(ip -n g20a neigh show 192.0.2.11)"
R ping-10a-10b $(ok ip netns exec g10a busybox ping -c 1 -W 2 192.0.2.12)
R ping-10a-far10 $(ok ip netns exec g10a busybox ping -c 1 -W 2 192.0.2.100)
R ping-20a-far20 $(ok ip netns exec g20a busybox ping -c 1 -W 2 192.0.2.200)
R ping-10a-20a $(ok ip netns exec g10a busybox ping -c 1 -W 2 192.0.2.21)
R ping-10a-far20 $(ok ip netns exec g10a busybox ping -c 1 -W 2 192.0.2.200)
R ping-20a-far10 $(ok ip netns exec g20a busybox ping -c 1 -W 2 192.0.2.100)
# Down: v20 tears down when idle (its bridge and the VLAN device kvmnet made); v10 keeps its own.
hook qemu-ifdown t20a
hook qemu-ifdown t10a
R after-down "$(ip -n host -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^(brv|trunk0\\.)' | sort | tr '\\n' ',')"
exit 0
`;

describe.skipIf(!canRun)("VLAN networks in Debian's kernel", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "kvmnet-vlan-"));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("two VLANs on one trunk: each bridge over TRUNK.VID; same-VLAN ports reach each other, the VLANs never meet", async () => {
    const path = join(dir, "vlan.sh");
    writeFileSync(path, script(join(ROOT, "dist")));
    const vm = await runInDebianKernelVM({ script: path, timeoutMs: 300_000 });
    expect(vm.exitCode, vm.output).toBe(0);
    const r = Object.fromEntries([...vm.output.matchAll(/^R (\S+) ?(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    const show = `VM output:\n${vm.output}`;
    for (const tap of ["t10a", "t10b", "t20a"]) expect(r[`qemu-ifup-bridge-${tap}-rc`], show).toBe("0");
    // The first VM of each VLAN made TRUNK.VID and the bridge in one batch; the second only attached.
    expect(r["qemu-ifup-bridge-t10a-log"], show).toMatch(
      /link add link trunk0 name trunk0\.10 type vlan id 10\|.*link add name brv10 /,
    );
    expect(r["qemu-ifup-bridge-t10b-log"], show).toBe(
      "qemu-ifup-bridge: ip link set dev t10b mtu 1500 master brv10 up|",
    );
    expect(r["links"], show).toBe("trunk0.10 id 10,trunk0.20 id 20,");
    expect(r["brv10-ports"], show).toBe("t10a,t10b,trunk0.10,");
    expect(r["brv20-ports"], show).toBe("t20a,trunk0.20,");
    // Idempotent: the second call for a tap already attached changes nothing.
    expect(r["qemu-ifup-bridge-t10a-again-rc"], show).toBe("0");
    expect(r["qemu-ifup-bridge-t10a-again-log"], show).toBe("");
    // No RA on the VLAN bridge kvmnet made: a guest's forged one gives the host no route and no address.
    expect(r["brv10-ra"], show).toBe("0/0");
    expect(r["ra-learned"], show).toBe("+0");
    expect(r["ra-learned-control"], show).toMatch(/^default via fe80::\S+ dev brv10\+1$/);
    expect(r["qemu-ifup-bridge-t10b-fix-rc"], show).toBe("0");
    expect(r["brv10-ra-fixed"], show).toBe("0/0");
    // ARP: g10a's requests reach g10b, never g20a (nor does g20a learn g10a's address).
    expect(r["arping-10-to-20"], show).not.toBe("0");
    expect(r["arping-10-to-far20"], show).not.toBe("0");
    expect(r["arping-10-to-10"], show).toBe("0");
    expect(Number(r["g10b-arp-after"]) - Number(r["g10b-arp-before"]), show).toBeGreaterThan(0);
    expect(r["g20a-arp-after"], show).toBe(r["g20a-arp-before"]);
    expect(r["g20a-neigh"], show).toBe("");
    // Same VLAN: through the bridge and over the trunk. Other VLAN: nothing, though the subnet is the same.
    expect([r["ping-10a-10b"], r["ping-10a-far10"], r["ping-20a-far20"]], show).toEqual(["yes", "yes", "yes"]);
    expect([r["ping-10a-20a"], r["ping-10a-far20"], r["ping-20a-far10"]], show).toEqual(["no", "no", "no"]);
    expect(r["qemu-ifdown-t20a-rc"], show).toBe("0");
    expect(r["after-down"], show).toBe("brv10,trunk0.10,");
    console.log(
      `vlan VM: script started ${Math.round(vm.bootMs)} ms after QEMU start, VM ran ${Math.round(vm.totalMs)} ms`,
    );
  }, 330_000);
});
