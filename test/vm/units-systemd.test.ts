// kvmnet's units under a real systemd: in a VM booting Debian's kernel on this machine's root fs (test/vm/hostvm.ts;
// /etc and /run there are the VM's own), systemd runs as PID 1 of a PID namespace with only nftables.service to
// start. `kvmnet install` writes the units, `systemctl enable` hooks kvmnet-reapply.service onto nftables.service,
// and then: restart, reload, stop + start of nftables.service (each runs "flush ruleset") give the rules of a network
// that is up back; a network taken down stays down; kvmnet-watch.service puts them back after a flush by hand and
// leaves no monitor behind when stopped, nor kills the dnsmasq it started again. (Times are TCG's: the 1 s figure is measured in test/netns/watch.test.ts.)
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/netns.js";
import { runInDebianKernelVM } from "./hostvm.js";

const canRun = process.getuid?.() === 0 && existsSync("/usr/bin/qemu-system-x86_64");

// Runs inside the VM. Prints "R name value" lines for the test to check; never stops at a failed check.
const script = (kvmnet: string) => `set -u
R() { echo "R $1 $2"; }
yes_no() { if "$@" >/dev/null 2>&1; then echo yes; else echo no; fi; }
# ms until "$@" succeeds, polled every 0.1 s at most N times (-1: never)
waitfor() {
  local n=$1; shift; local t0; t0=$(date +%s%N)
  for _ in $(seq "$n"); do
    if "$@" >/dev/null 2>&1; then echo $(( ($(date +%s%N) - t0) / 1000000 )); return 0; fi
    sleep 0.1
  done
  echo -1; return 1
}
table() { nft list chain inet kvmnet from-nat0; }
K() { node ${kvmnet} "$@"; }
K install --dest /etc >/tmp/install.out 2>&1 || { cat /tmp/install.out; exit 1; }
printf '[nat0]\\nmode = nat\\nbridge = kvsd0\\naddress = 192.0.2.1/24\\ndhcp_range = 192.0.2.100,192.0.2.199\\n' > /etc/kvmnet.conf
chmod 644 /etc/kvmnet.conf
printf '[Unit]\\nDescription=kvmnet test\\nWants=nftables.service basic.target\\n' > /etc/systemd/system/kvmnet-test.target
# tmpfiles would walk this machine's whole /var over 9p for minutes before basic.target
ln -s /dev/null /etc/systemd/system/systemd-tmpfiles-setup.service
unshare --pid --mount --fork --mount-proc env container=kvmnet-vm /lib/systemd/systemd --system \\
  --unit=kvmnet-test.target --log-target=kmsg --show-status=no </dev/null >/tmp/systemd.log 2>&1 &
pid1() { pgrep -x systemd | head -1; }
waitfor 100 pid1 >/dev/null
S() { nsenter -t "$(pid1)" -m -p systemctl "$@"; }
# basic.target first (kvmnet-reapply.service's default dependency, reached long before on a real host)
for _ in $(seq 180); do [ "$(S is-active basic.target)" = active ] && break; sleep 1; done
R basic "$(S is-active basic.target)"
R nftables "$(S is-active nftables.service)"
S daemon-reload
S enable kvmnet-reapply.service >/dev/null 2>&1
R wants "$(readlink /etc/systemd/system/nftables.service.wants/kvmnet-reapply.service)"
K up nat0 >/dev/null || exit 1
R up "$(yes_no table)"
nft -f /etc/nftables.conf
R control "$(yes_no table)"
S restart nftables.service
R restart "$(waitfor 200 table)"
R reapply-state "$(S is-active kvmnet-reapply.service)"
S reload nftables.service
R reload "$(waitfor 200 table)"
S stop nftables.service
R stopped "$(yes_no table)"
S start nftables.service
R start "$(waitfor 200 table)"
K down nat0 >/dev/null || exit 1
S restart nftables.service
sleep 3
R down-bridge "$(yes_no test -e /sys/class/net/kvsd0)"
R down-table "$(yes_no table)"
K up nat0 >/dev/null || exit 1
S enable --now kvmnet-watch.service >/dev/null 2>&1
R watch-state "$(S is-active kvmnet-watch.service)"
waitfor 300 pgrep -f "^nft monitor" >/dev/null
sleep 2
nft flush ruleset
R watch "$(waitfor 300 table)"
R monitors "$(pgrep -fc '^(nft|ip) monitor')"
# A dnsmasq the watch starts is in its service's cgroup. Looked at from systemd's PID namespace (N), where the
# watch and its dnsmasq live: the network brought up there, its bridge deleted by hand, the watch makes it again
# and starts its dnsmasq again; then the service restarts and stops.
N() { nsenter -t "$(pid1)" -m -p "$@"; }
K down nat0 --force >/dev/null
N node ${kvmnet} up nat0 >/dev/null || R inner-up failed
old=$(N cat /run/kvmnet/nat0.dnsmasq.pid)
sleep 2
ip link del kvsd0
dnsmasq_new() { p=$(N cat /run/kvmnet/nat0.dnsmasq.pid) && [ "$p" != "$old" ] && N kill -0 "$p"; }
R watch-dnsmasq "$(waitfor 300 dnsmasq_new)"
d=$(N cat /run/kvmnet/nat0.dnsmasq.pid)
R dnsmasq-cgroup "$(N grep -c kvmnet-watch.service /proc/$d/cgroup)"
S restart kvmnet-watch.service
sleep 2
R dnsmasq-after-restart "$(yes_no N kill -0 "$d")"
S stop kvmnet-watch.service
R dnsmasq-after-stop "$(yes_no N kill -0 "$d")"
S start kvmnet-watch.service
waitfor 300 pgrep -f "^nft monitor" >/dev/null
S stop kvmnet-watch.service
R watch-stopped "$(S is-active kvmnet-watch.service)"
R monitors-left "$(pgrep -fc '^(nft|ip) monitor')"
S poweroff >/dev/null 2>&1 || true
`;

describe.skipIf(!canRun)("kvmnet-reapply.service and kvmnet-watch.service under systemd", () => {
  let dir: string;
  let out: Record<string, string> = {};
  let raw = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "kvmnet-units-"));
    const path = join(dir, "units.sh");
    writeFileSync(path, script(join(ROOT, "dist/kvmnet.cjs")));
    const r = await runInDebianKernelVM({ script: path, timeoutMs: 400_000, memMB: 2048 });
    raw = r.output;
    expect(r.exitCode, raw).toBe(0);
    out = Object.fromEntries([...raw.matchAll(/^R (\S+) (.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    console.log(
      raw
        .split("\n")
        .filter((l) => l.startsWith("R "))
        .join("\n"),
    );
  }, 420_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("systemctl enable hooks kvmnet-reapply.service onto nftables.service", () => {
    expect(out.basic, raw).toBe("active");
    expect(out.nftables, raw).toBe("active");
    expect(out.wants, raw).toBe("/etc/systemd/system/kvmnet-reapply.service");
    expect(out.up, raw).toBe("yes");
  });

  it("after restart, reload, and stop + start of nftables.service the rules are back (loading its config alone removes them: the control)", () => {
    expect(out.control, raw).toBe("no");
    expect(Number(out.restart), raw).toBeGreaterThanOrEqual(0);
    expect(out["reapply-state"], raw).toBe("active");
    expect(Number(out.reload), raw).toBeGreaterThanOrEqual(0);
    expect(out.stopped, raw).toBe("no");
    expect(Number(out.start), raw).toBeGreaterThanOrEqual(0);
  });

  it("a network taken down stays down when nftables.service restarts", () => {
    expect(out["down-bridge"], raw).toBe("no");
    expect(out["down-table"], raw).toBe("no");
  });

  it("kvmnet-watch.service puts the rules back after nft flush ruleset and leaves no monitor when stopped", () => {
    expect(out["watch-state"], raw).toBe("active");
    expect(Number(out.watch), raw).toBeGreaterThanOrEqual(0);
    expect(out.monitors, raw).toBe("2");
    expect(out["watch-stopped"], raw).toBe("inactive");
    expect(out["monitors-left"], raw).toBe("0");
  });

  it("a dnsmasq the watch started again (its bridge deleted by hand) keeps running when the service restarts and stops (KillMode=process)", () => {
    expect(Number(out["watch-dnsmasq"]), raw).toBeGreaterThanOrEqual(0);
    // It was in the service's cgroup: with KillMode=mixed or control-group systemd would kill it.
    expect(out["dnsmasq-cgroup"], raw).toBe("1");
    expect(out["dnsmasq-after-restart"], raw).toBe("yes");
    expect(out["dnsmasq-after-stop"], raw).toBe("yes");
  });
});
