// kvmnet-userd.socket under a real systemd, as test/vm/units-systemd.test.ts runs the reapply unit: in a VM booting
// Debian's kernel on this machine's root fs, `kvmnet install` writes the units, `systemctl enable --now
// kvmnet-userd.socket` makes /run/kvmnet/user.sock (root's, mode 0666) with the service not yet running; the first
// kvmnet-qemu of an allowed user (nobody) starts it by socket activation and gets a tap it owns; a user not
// allowed (daemon) is refused with exit 2; the tap is gone after; kvmnet doctor finds the socket in order.
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
waitfor() {
  for _ in $(seq "$1"); do shift 0; if eval "$2" >/dev/null 2>&1; then echo yes; return 0; fi; sleep 0.1; done
  echo no; return 1
}
K() { node ${dist}/kvmnet.cjs "$@"; }
K install --dest /etc >/tmp/install.out 2>&1 || { cat /tmp/install.out; exit 1; }
printf '[nat0]\\nmode = nat\\nbridge = kvsu0\\naddress = 192.0.2.1/24\\nteardown = when-idle\\nallow_users = nobody\\n' > /etc/kvmnet.conf
chmod 644 /etc/kvmnet.conf
printf '[Unit]\\nDescription=kvmnet test\\nWants=basic.target\\n' > /etc/systemd/system/kvmnet-test.target
ln -s /dev/null /etc/systemd/system/systemd-tmpfiles-setup.service
unshare --pid --mount --fork --mount-proc env container=kvmnet-vm /lib/systemd/systemd --system \\
  --unit=kvmnet-test.target --log-target=kmsg --show-status=no </dev/null >/tmp/systemd.log 2>&1 &
pid1() { pgrep -x systemd | head -1; }
for _ in $(seq 100); do pid1 >/dev/null && break; sleep 0.1; done
S() { nsenter -t "$(pid1)" -m -p systemctl "$@"; }
for _ in $(seq 180); do [ "$(S is-active basic.target)" = active ] && break; sleep 1; done
R basic "$(S is-active basic.target)"
S daemon-reload
S enable --now kvmnet-userd.socket >/dev/null 2>&1
R socket "$(S is-active kvmnet-userd.socket)"
R mode "$(stat -c '%U %a %F' /run/kvmnet/user.sock)"
R service-before "$(S is-active kvmnet-userd.service)"
Q() { setpriv --reuid="$1" --regid="$2" --init-groups env -i PATH=/usr/bin:/bin node ${dist}/kvmnet-qemu.cjs --network nat0 -- sh -c 'cat /sys/class/net/{tap}/owner; basename $(readlink /sys/class/net/{tap}/master)' 2>/tmp/q.err; echo "exit=$?"; }
R nobody "$(Q nobody nogroup | tr '\\n' ' ')"
R service-after "$(S is-active kvmnet-userd.service)"
R daemon "$(Q daemon daemon | tr '\\n' ' ')"
R daemon-says "$(cat /tmp/q.err)"
R tap-gone "$(waitfor 300 '! ls /sys/class/net | grep -q ^ku')"
R bridge-gone "$(waitfor 300 '! test -e /sys/class/net/kvsu0')"
R doctor "$(K doctor --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const c=JSON.parse(s).checks.find(x=>x.id==="userd");console.log(c.level+" "+c.message)})')"
S poweroff >/dev/null 2>&1 || true
`;

describe.skipIf(!canRun)("kvmnet-userd.socket under systemd", () => {
  let dir: string;
  let out: Record<string, string> = {};
  let raw = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "kvmnet-userd-units-"));
    const path = join(dir, "userd.sh");
    writeFileSync(path, script(join(ROOT, "dist")));
    const r = await runInDebianKernelVM({ script: path, timeoutMs: 400_000, memMB: 2048 });
    raw = r.output;
    expect(r.exitCode, raw).toBe(0);
    out = Object.fromEntries([...raw.matchAll(/^R (\S+) (.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()]));
    console.log(
      raw
        .split("\n")
        .filter((l) => l.startsWith("R "))
        .join("\n"),
    );
  }, 420_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("enable --now makes the socket, root's and open to every user, with the service not started yet", () => {
    expect(out.basic, raw).toBe("active");
    expect(out.socket, raw).toBe("active");
    expect(out.mode, raw).toBe("root 666 socket");
    expect(out["service-before"], raw).toBe("inactive");
  });

  it("an allowed user's first request starts the service and gets a tap it owns on the bridge; it goes after", () => {
    expect(out.nobody, raw).toBe("65534 kvsu0 exit=0");
    expect(out["service-after"], raw).toBe("active");
    expect(out["tap-gone"], raw).toBe("yes");
    expect(out["bridge-gone"], raw).toBe("yes");
  });

  it("a user not allowed is refused with exit 2 and who may allow it", () => {
    expect(out.daemon, raw).toBe("exit=2");
    expect(out["daemon-says"], raw).toMatch(/may not use network nat0: root allows it with allow_users = daemon/);
  });

  it("doctor finds the socket listening, mode 0666", () => {
    expect(out.doctor, raw).toMatch(/^ok kvmnet-userd's socket \/run\/kvmnet\/user.sock listens, mode 0666/);
  });
});
