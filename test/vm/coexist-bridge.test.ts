// The fix `kvmnet doctor` prints for a bridge table's drop policy (`meta ibrname BR accept`) carried out where it
// can be: this machine's kernel lacks nft_meta_bridge, Debian's has it as a module, so the script runs in a VM
// booting Debian's kernel on this machine's root fs (test/vm/hostvm.ts). In the VM: an isolated network whose
// guests lose each other to a bridge forward chain with policy drop, and a nat network whose guest loses its
// lease to a bridge input chain with policy drop; doctor's printed commands bring both back.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/netns.js";
import { runInDebianKernelVM } from "./hostvm.js";

const canRun = process.getuid?.() === 0 && existsSync("/usr/bin/qemu-system-x86_64");

// Runs inside the VM. Prints "R name value" lines for the test to check; never stops at a failed check.
const script = (dist: string) => `set -u
R() { echo "R $1 $2"; }
ok() { if "$@" >/dev/null 2>&1; then echo yes; else echo no; fi; }
for ns in host g1 g2 g3; do ip netns add $ns; ip -n $ns link set lo up; done
guest() { ip -n host link add $2 type veth peer name eth0 netns $1; ip -n host link set $2 up; ip -n $1 link set eth0 up; }
guest g1 ti1; guest g2 ti2; guest g3 tn1
ip -n g1 addr add 192.0.2.11/24 dev eth0; ip -n g2 addr add 192.0.2.12/24 dev eth0
mkdir -p /tmp/k && chmod 755 /tmp/k
cat > /tmp/k/kvmnet.conf <<'CONF'
[global]
state_dir = /tmp/k/run
lease_dir = /tmp/k/lib
[iso]
mode = isolated
bridge = kbiso
taps = ti*
[nat0]
mode = nat
bridge = kbnat
address = 198.51.100.1/24
dhcp_range = 198.51.100.100,198.51.100.150
taps = tn*
CONF
chmod 644 /tmp/k/kvmnet.conf
k() { ip netns exec host env KVMNET_CONFIG=/tmp/k/kvmnet.conf node ${dist}/$1.cjs "\${@:2}"; }
k qemu-ifup-isolated ti1; R up-ti1 $?; k qemu-ifup-isolated ti2; R up-ti2 $?; k qemu-natup tn1; R up-tn1 $?
cross() { ok ip netns exec g1 busybox ping -c 1 -W 2 192.0.2.12; }
lease() { ok ip netns exec g3 busybox udhcpc -i eth0 -n -q -t 3 -T 1 -s /bin/true; }
# The commands of doctor's finding ID, one a line.
fixes() { k kvmnet doctor --json | node -e 'const c=JSON.parse(require("fs").readFileSync(0,"utf8")).checks.find(x=>x.id===process.argv[1]&&x.level==="fail"); if(c) console.log(c.fix.replace(/^[^:]*: /,"").split("; ").filter(x=>x.startsWith("nft ")).join("\\n"))' "$1"; }
R cross-before $(cross); R lease-before $(lease)
ip netns exec host nft add table bridge other
ip netns exec host nft add chain bridge other fw '{ type filter hook forward priority 0; policy drop; }'
ip netns exec host nft add chain bridge other in '{ type filter hook input priority 0; policy drop; }'
R cross-dropped $(cross); R lease-dropped $(lease)
R forward-fix "$(fixes forward-drop | tr '\\n' '|')"
R input-fix "$(fixes input-drop | tr '\\n' '|')"
fixes forward-drop > /tmp/k/f1; fixes input-drop > /tmp/k/f2
while read -r c; do ip netns exec host sh -c "$c"; R ran $?; done < /tmp/k/f1
while read -r c; do ip netns exec host sh -c "$c"; R ran $?; done < /tmp/k/f2
R cross-fixed $(cross); R lease-fixed $(lease)
R forward-after "$(fixes forward-drop)"; R input-after "$(fixes input-drop)"
exit 0
`;

describe.skipIf(!canRun)("a bridge table's drop policy in Debian's kernel", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "kvmnet-coexist-vm-"));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("forward and input chains with policy drop in a bridge table: doctor's `meta ibrname` fixes bring the traffic back", async () => {
    const path = join(dir, "coexist.sh");
    writeFileSync(path, script(join(ROOT, "dist")));
    const vm = await runInDebianKernelVM({ script: path, timeoutMs: 300_000 });
    expect(vm.exitCode, vm.output).toBe(0);
    const r = Object.fromEntries([...vm.output.matchAll(/^R (\S+) ?(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    const show = `VM output:\n${vm.output}`;
    expect([r["up-ti1"], r["up-ti2"], r["up-tn1"]], show).toEqual(["0", "0", "0"]);
    expect([r["cross-before"], r["lease-before"]], show).toEqual(["yes", "yes"]);
    expect([r["cross-dropped"], r["lease-dropped"]], show).toEqual(["no", "no"]);
    expect(r["forward-fix"], show).toBe(
      "nft insert rule bridge other fw meta ibrname kbiso accept|nft insert rule bridge other fw meta ibrname kbnat accept|",
    );
    expect(r["input-fix"], show).toBe("nft insert rule bridge other in meta ibrname kbnat accept|");
    expect(
      [...vm.output.matchAll(/^R ran (\d+)$/gm)].map((m) => m[1]),
      show,
    ).toEqual(["0", "0", "0"]);
    expect([r["cross-fixed"], r["lease-fixed"]], show).toEqual(["yes", "yes"]);
    expect([r["forward-after"], r["input-after"]], show).toEqual(["", ""]);
    console.log(
      `coexist VM: script started ${Math.round(vm.bootMs)} ms after QEMU start, ran ${Math.round(vm.totalMs)} ms`,
    );
  }, 330_000);
});
