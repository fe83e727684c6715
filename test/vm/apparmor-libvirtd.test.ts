// AppArmor and libvirt (issue 14 #7), proven with the kernel's own check: this machine's kernel has no
// AppArmor, so the script runs in a VM booting Debian's kernel (AppArmor on by default) on this machine's root
// filesystem (test/vm/hostvm.ts). There Debian's real libvirtd profile is loaded, and a shell confined by it
// (aa-exec -p libvirtd, so its execve is checked exactly as libvirtd's fork+exec of a <script path=...> is)
// runs the hooks as the .deb installs them. Controls: the first releases' layout (the program under
// /usr/lib/kvmnet), the standalone binary under /usr/local and an npm install are refused until the
// local/usr.sbin.libvirtd line the README gives is added.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDeb } from "../helpers/release.js";
import { installPacked } from "../e2e/install.js";
import { runInDebianKernelVM } from "./hostvm.js";
import { libvirtdProfilePackage } from "./libvirtd-profile.js";

const canRun =
  process.getuid?.() === 0 && existsSync("/usr/bin/qemu-system-x86_64") && existsSync("/usr/sbin/apparmor_parser");

// Runs inside the VM; prints "R name value" lines. X: the .deb unpacked; P: the profile; N: an npm prefix.
const script = (x: string, p: string, n: string) => `set -u
R() { echo "R $1 $2"; }
mount -t securityfs securityfs /sys/kernel/security
R enabled "$(cat /sys/module/apparmor/parameters/enabled)"
cp ${p} /etc/apparmor.d/usr.sbin.libvirtd
mkdir -p /etc/apparmor.d/local && : > /etc/apparmor.d/local/usr.sbin.libvirtd
load() { apparmor_parser -r /etc/apparmor.d/usr.sbin.libvirtd; R load-$1 $?; }
# As libvirtd runs a domain's <script>: an execve of PATH TAP from a process confined by libvirtd's profile.
run() { aa-exec -p libvirtd -- /bin/sh -c 'exec "$0" --help' "$2" >/tmp/out 2>&1; R "$1" "$? $(head -n 1 /tmp/out | tr ' ' _)"; }
load stock
R label "$(aa-exec -p libvirtd -- /bin/sh -c 'read x </proc/self/attr/current; echo $x' | tr ' ' _)"
# The first releases' layout: the program at /usr/lib/kvmnet/kvmnet (bound, not copied: 99 MB over 9p).
mkdir -p /usr/lib/kvmnet && : > /usr/lib/kvmnet/kvmnet && mount --bind ${x}/usr/bin/kvmnet /usr/lib/kvmnet/kvmnet
ln -s /usr/lib/kvmnet/kvmnet /tmp/qemu-natup
run old-layout /tmp/qemu-natup
R old-audit "$(dmesg | grep 'apparmor="DENIED"' | grep 'operation="exec"' | grep 'profile="libvirtd"' | grep -c 'name="/usr/lib/kvmnet/kvmnet"')"
umount /usr/lib/kvmnet/kvmnet && rm -rf /usr/lib/kvmnet /tmp/qemu-natup
# The .deb's layout: /usr/bin/kvmnet, with /etc/qemu-* and the old path linked to it; plus an admin's @NET link.
: > /usr/bin/kvmnet && mount --bind ${x}/usr/bin/kvmnet /usr/bin/kvmnet
cp -a ${x}/usr/lib/kvmnet /usr/lib/ && cp -a ${x}/etc/qemu-* /etc/
ln -s /usr/bin/kvmnet /etc/qemu-natup@lab && ln -s /usr/lib/kvmnet/kvmnet /etc/qemu-natdown@lab
for h in qemu-natup qemu-natdown qemu-ifup-bridge qemu-ifup-isolated qemu-natup@lab qemu-natdown@lab; do run deb-$h /etc/$h; done
# The standalone binary under /usr/local and an npm install (a .cjs with #!/usr/bin/env node).
mkdir -p /usr/local/lib/kvmnet && : > /usr/local/lib/kvmnet/kvmnet && mount --bind ${x}/usr/bin/kvmnet /usr/local/lib/kvmnet/kvmnet
mkdir /tmp/sa && ln -s /usr/local/lib/kvmnet/kvmnet /tmp/sa/qemu-natup
run standalone /tmp/sa/qemu-natup
run npm ${n}/bin/qemu-natup
# The README's local/usr.sbin.libvirtd lines (the npm one with this test's prefix instead of /usr/local).
printf '%s\\n' '/usr/local/lib/kvmnet/kvmnet PUx,' '${n}/lib/node_modules/kvmnet/dist/*.cjs PUx,' >> /etc/apparmor.d/local/usr.sbin.libvirtd
load local
run standalone-local /tmp/sa/qemu-natup
run npm-local ${n}/bin/qemu-natup
`;

let tmp = "";
let out = "";
const r = (name: string) => new RegExp(`^R ${name.replace(/[@.]/g, "\\$&")} (.*)$`, "m").exec(out)?.[1];

beforeAll(async () => {
  if (!canRun) return;
  const [deb, npm] = await Promise.all([ensureDeb(), installPacked()]);
  const pkg = await libvirtdProfilePackage();
  tmp = mkdtempSync(join(tmpdir(), "kvmnet-aa-"));
  await execa("dpkg-deb", ["-x", deb, join(tmp, "deb")]);
  writeFileSync(join(tmp, "run.sh"), script(join(tmp, "deb"), pkg.profile, npm.prefix));
  const res = await runInDebianKernelVM({ script: join(tmp, "run.sh"), timeoutMs: 300_000 });
  out = res.output;
  console.log(`apparmor VM: boot ${Math.round(res.bootMs)} ms, total ${Math.round(res.totalMs)} ms\n${out}`);
}, 600_000);
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!canRun)(
  "Debian's libvirtd AppArmor profile (needs root, qemu-system-x86_64 and apparmor_parser)",
  () => {
    it("is loaded in enforce mode in a Debian-kernel VM", () => {
      expect(r("enabled"), out).toBe("Y");
      expect(r("load-stock"), out).toBe("0");
      expect(r("label"), out).toBe("libvirtd_(enforce)");
    });

    it("refuses the first releases' layout (program under /usr/lib/kvmnet): the control", () => {
      expect(r("old-layout"), out).toMatch(/^126 .*Permission_denied/);
      expect(Number(r("old-audit")), out).toBeGreaterThan(0);
    });

    it("lets libvirtd run every hook of the .deb, and an admin's @NET link, with no profile change", () => {
      for (const h of [
        "qemu-natup",
        "qemu-natdown",
        "qemu-ifup-bridge",
        "qemu-ifup-isolated",
        "qemu-natup@lab",
        "qemu-natdown@lab",
      ]) {
        expect(r(`deb-${h}`), `${h}\n${out}`).toMatch(new RegExp(`^0 usage:_${h.split("@")[0]}_TAP`));
      }
    });

    it("refuses a standalone binary under /usr/local and an npm install until the README's local lines are added", () => {
      expect(r("standalone"), out).toMatch(/^126 /);
      expect(r("npm"), out).toMatch(/^126 /);
      expect(r("load-local"), out).toBe("0");
      expect(r("standalone-local"), out).toMatch(/^0 usage:_qemu-natup_TAP/);
      expect(r("npm-local"), out).toMatch(/^0 usage:_qemu-natup_TAP/);
    });
  },
);
