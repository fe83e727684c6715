// DHCP offers with a correct UDP checksum (issue 11 part 5): dnsmasq's reply leaves the host with the checksum
// left to offload (CHECKSUM_PARTIAL), and a guest behind vhost-net, here a veth peer, receives it so. kvmnet's tc
// `csum` action on the bridge's egress computes it. This machine's kernel has no act_csum, Debian's has it as a
// module: the script runs in a VM booting Debian's kernel on this machine's root fs (test/vm/hostvm.ts). The guest
// captures the offer itself (AF_PACKET) and checks its UDP checksum.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/netns.js";
import { runInDebianKernelVM } from "./hostvm.js";

const canRun = process.getuid?.() === 0 && existsSync("/usr/bin/qemu-system-x86_64");

// In the guest: start udhcpc, capture the first IPv4 UDP frame to port 68, print "ok" when its checksum holds
// (or is 0, "none"), "bad" when not, "none-seen" when no offer came.
const CAPTURE = `
import socket, struct, subprocess, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800)); s.bind(("eth0", 0)); s.settimeout(1)
p = subprocess.Popen(["busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-t", "3", "-T", "1", "-s", "/bin/true"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
end = time.time() + 8; verdict = "none-seen"
while time.time() < end:
    try: f = s.recv(4096)
    except socket.timeout: continue
    ip = f[14:]; ihl = (ip[0] & 15) * 4
    if ip[9] != 17: continue
    udp = ip[ihl:ihl + struct.unpack("!H", ip[ihl + 4:ihl + 6])[0]]
    if struct.unpack("!H", udp[2:4])[0] != 68: continue
    if udp[6:8] == b"\\0\\0": verdict = "ok"; break
    data = ip[12:20] + struct.pack("!BBH", 0, 17, len(udp)) + udp + (b"\\0" if len(udp) % 2 else b"")
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16: total = (total & 0xffff) + (total >> 16)
    verdict = "ok" if total == 0xffff else "bad"; break
p.kill(); print(verdict)
`;

const script = (dist: string) => `set -u
R() { echo "R $1 $2"; }
for ns in host g1; do ip netns add $ns; ip -n $ns link set lo up; done
ip -n host link add tn1 type veth peer name eth0 netns g1; ip -n host link set tn1 up; ip -n g1 link set eth0 up
mkdir -p /tmp/k && chmod 755 /tmp/k
cat > /tmp/k/kvmnet.conf <<'CONF'
[global]
state_dir = /tmp/k/run
lease_dir = /tmp/k/lib
[nat0]
mode = nat
bridge = kbnat
address = 198.51.100.1/24
dhcp_range = 198.51.100.100,198.51.100.150
CONF
chmod 644 /tmp/k/kvmnet.conf
cat > /tmp/k/capture.py <<'PY'
${CAPTURE}
PY
k() { ip netns exec host env KVMNET_CONFIG=/tmp/k/kvmnet.conf node ${dist}/$1.cjs "\${@:2}"; }
cap() { ip netns exec g1 python3 /tmp/k/capture.py; }
R tx-csum "$(ip netns exec host ethtool -k kbnat 2>/dev/null | grep -c 'tx-checksumming: on' || true)"
k qemu-natup tn1; R up $?
R filters "$(ip netns exec host tc filter show dev kbnat egress | grep -c 'csum (udp)')"
R with $(cap)
ip netns exec host tc filter del dev kbnat egress pref 68; R del $?
R without $(cap)
R status-missing "$(k kvmnet status nat0 | grep -o '[0-9]* changes* pending')"
R plan-missing "$(k kvmnet plan nat0 | grep -c 'egress pref 68 protocol ip u32 .* action csum udp$')"
# An admin's own u32 filter on the same egress, made while kvmnet's was gone: kvmnet up must leave it as it is.
ip netns exec host tc filter add dev kbnat egress pref 5 protocol ip u32 match ip protocol 6 0xff classid 1:5
admin() { ip netns exec host tc filter show dev kbnat egress pref 5 | grep -v '^filter protocol ip pref 5 u32 chain 0 $' | sed 's/ *$//' | tr '\n' '|'; }
R admin-before "$(admin)"
R up-again "$(k kvmnet up nat0)"
R admin-after "$(admin)"
R restored $(cap)
R up-third "$(k kvmnet up nat0)"
R status-back "$(k kvmnet status nat0 | grep -c 'as configured')"
# An admin's ingress qdisc (with a filter of theirs) where kvmnet's clsact was: the tc step cannot add clsact, so
# kvmnet up fails with tc's message, and nothing (qdisc, filter, links, rules, dnsmasq) is deleted or changed.
ip netns exec host tc qdisc del dev kbnat clsact
ip netns exec host tc qdisc add dev kbnat ingress
ip netns exec host tc filter add dev kbnat parent ffff: pref 7 protocol ip u32 match ip protocol 6 0xff action pass
snap() { ip netns exec host sh -c 'ip -br link; ip -br addr; nft list ruleset | sed "s/packets [0-9]* bytes [0-9]*//"; tc qdisc show; tc filter show dev kbnat parent ffff:; cat /tmp/k/run/*.pid' 2>&1 | md5sum | cut -c1-32; }
R ingress-filter "$(ip netns exec host tc filter show dev kbnat parent ffff: | grep -c 'pref 7')"
R snap-before "$(snap)"
out=$(k kvmnet up nat0 2>&1); R ingress-up $?
R ingress-msg "$(echo "$out" | head -1 | cut -c1-120)"
R snap-after "$(snap)"
exit 0
`;

describe.skipIf(!canRun)("DHCP checksum fix-up in Debian's kernel", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "kvmnet-csum-vm-"));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("an offer captured by the guest has a bad UDP checksum without kvmnet's tc csum filter, a good one with it; status and plan see a removed filter, kvmnet up puts it back, leaving an admin's u32 filter on the same egress alone; with an admin's ingress qdisc in clsact's place, kvmnet up exits 1 with tc's message and changes nothing", async () => {
    const path = join(dir, "csum.sh");
    writeFileSync(path, script(join(ROOT, "dist")));
    const vm = await runInDebianKernelVM({ script: path, timeoutMs: 300_000 });
    expect(vm.exitCode, vm.output).toBe(0);
    const r = Object.fromEntries([...vm.output.matchAll(/^R (\S+) ?(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    const show = `VM output:\n${vm.output}`;
    expect(r.up, show).toBe("0");
    expect(r.filters, show).toBe("1");
    expect(r.with, show).toBe("ok");
    expect(r.del, show).toBe("0");
    expect(r.without, show).toBe("bad");
    expect(r["status-missing"], show).toBe("1 change pending");
    expect(r["plan-missing"], show).toBe("1");
    expect(r["up-again"], show).toBe("nat0: up (1 step)");
    expect(r["admin-before"], show).toContain("flowid 1:5");
    expect(r["admin-after"], show).toBe(r["admin-before"]);
    expect(r.restored, show).toBe("ok");
    expect(r["up-third"], show).toBe("nat0: already up as configured");
    expect(r["status-back"], show).toBe("1");
    expect(Number(r["ingress-filter"]), show).toBeGreaterThan(0);
    expect(r["ingress-up"], show).toBe("1");
    expect(r["ingress-msg"], show).toMatch(/^kvmnet: nat0: command failed: tc -batch -/);
    expect(r["snap-after"], show).toBe(r["snap-before"]);
  }, 330_000);
});
