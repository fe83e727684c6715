// rate where the kernel has fq_codel (issue 21 §2): this machine's kernel lacks sch_fq_codel, so its shapers keep
// tbf's own bounded queue; Debian's has it as a module, and there kvmnet puts fq_codel under each shaper. The script
// runs in a VM booting Debian's kernel on this machine's root fs (test/vm/hostvm.ts): a nat network with
// rate = 20mbit, a guest namespace behind a veth "tap", iperf3 both ways to an outside namespace.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/netns.js";
import { runInDebianKernelVM } from "./hostvm.js";

const canRun = process.getuid?.() === 0 && existsSync("/usr/bin/qemu-system-x86_64");

const script = (dist: string) => `set -u
R() { echo "R $1 $2"; }
for ns in host out g1; do ip netns add $ns; ip -n $ns link set lo up; done
ip -n host link add up0 type veth peer name eth0 netns out; ip -n host link set up0 up; ip -n out link set eth0 up
ip -n host addr add 203.0.113.1/24 dev up0; ip -n out addr add 203.0.113.2/24 dev eth0
ip -n host link add vm0 type veth peer name eth0 netns g1; ip -n host link set vm0 up; ip -n g1 link set eth0 up
mkdir -p /tmp/k && chmod 755 /tmp/k
printf '[global]\\nstate_dir = /tmp/k/run\\nlease_dir = /tmp/k/lib\\n[nat0]\\nmode = nat\\nbridge = kbnat\\naddress = 198.51.100.1/24\\nrate = 20mbit\\n' > /tmp/k/kvmnet.conf
chmod 644 /tmp/k/kvmnet.conf
k() { ip netns exec host env KVMNET_CONFIG=/tmp/k/kvmnet.conf node ${dist}/$1.cjs "\${@:2}"; }
k qemu-natup vm0; R up $?
ip -n g1 addr add 198.51.100.10/24 dev eth0; ip -n g1 route add default via 198.51.100.1
IFB=kvi$(ip netns exec host cat /sys/class/net/vm0/ifindex)
R fq-tap "$(ip netns exec host tc qdisc show dev vm0 | grep -c 'fq_codel 4b57: parent 4b56:1')"
R fq-ifb "$(ip netns exec host tc qdisc show dev $IFB | grep -c 'fq_codel 4b57: parent 4b56:1')"
rate() { ip netns exec out iperf3 -s -1 >/dev/null 2>&1 & sleep 1; ip netns exec g1 iperf3 -c 203.0.113.2 -t 3 -J "$@" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(Math.round(JSON.parse(s).end.sum_received.bits_per_second)))'; wait; }
R download "$(rate -R)"
R upload "$(rate)"
R up-again "$(k kvmnet up nat0)"
k qemu-natdown vm0; R down $?
R ifb-left "$(ip netns exec host ls /sys/class/net | grep -c '^kvi')"
exit 0
`;

describe.skipIf(!canRun)("rate in Debian's kernel (fq_codel under the shapers)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "kvmnet-rate-vm-"));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("the tap's and its IFB's shapers have fq_codel under them; iperf3 each way stays at the rate; nothing left to plan; the IFB goes with the down hook", async () => {
    const path = join(dir, "rate.sh");
    writeFileSync(path, script(join(ROOT, "dist")));
    const vm = await runInDebianKernelVM({ script: path, timeoutMs: 400_000 });
    expect(vm.exitCode, vm.output).toBe(0);
    const r = Object.fromEntries([...vm.output.matchAll(/^R (\S+) ?(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    const show = `VM output:\n${vm.output}`;
    console.log(`in Debian's kernel under QEMU: download ${r.download} bit/s, upload ${r.upload} bit/s (rate 20mbit)`);
    expect(r.up, show).toBe("0");
    expect(r["fq-tap"], show).toBe("1");
    expect(r["fq-ifb"], show).toBe("1");
    // Never above the rate; below it only as far as an emulated CPU under load falls short.
    for (const d of ["download", "upload"]) {
      expect(Number(r[d]), show).toBeLessThan(22e6);
      expect(Number(r[d]), show).toBeGreaterThan(5e6);
    }
    expect(r["up-again"], show).toBe("nat0: already up as configured");
    expect(r.down, show).toBe("0");
    expect(r["ifb-left"], show).toBe("0");
  }, 430_000);
});
