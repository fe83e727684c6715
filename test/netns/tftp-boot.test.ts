// Network boot with real dnsmasq: a guest gets the boot file name and next-server in its DHCP reply and fetches
// the file with busybox tftp from the network's dnsmasq; a root dnsmasq (as nobody) cannot read is refused.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { program, type Netns } from "../helpers/netns.js";

let lab: Lab;
afterEach(async () => await lab?.destroy());

// The boot fields of the DHCP reply, as udhcpc exports them ($boot_file: the file field or option 67; $siaddr).
async function bootLease(g: Netns): Promise<Record<string, string> | null> {
  const script = join(lab.conf.dir, "udhcpc-boot.sh");
  writeFileSync(
    script,
    `#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface"
    echo "LEASE ip=$ip boot_file=$boot_file siaddr=$siaddr" ;;
esac
`,
  );
  chmodSync(script, 0o755);
  const args = ["udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "6", "-T", "1", "-s", script];
  const r = await g.tryRun("busybox", args, { timeout: 30_000 });
  const m = /LEASE ip=(\S*) boot_file=(\S*) siaddr=(\S*)/.exec(String(r.stdout));
  return m ? { ip: m[1]!, bootFile: m[2]!, siaddr: m[3]! } : null;
}

describe("network boot", () => {
  it("tells the boot file and next-server, and serves the file over TFTP from tftp_root only", async () => {
    lab = await makeLab({
      section: (br) => natSection(br, "tftp_root = TFTPROOT\nboot_file = pxe/boot.bin\n"),
    });
    const root = join(lab.conf.dir, "tftp");
    mkdirSync(join(root, "pxe"), { recursive: true, mode: 0o755 });
    chmodSync(root, 0o755);
    chmodSync(join(root, "pxe"), 0o755);
    const payload = `kvmnet boot file ${Math.random()}\n`.repeat(200);
    writeFileSync(join(root, "pxe", "boot.bin"), payload, { mode: 0o644 });
    writeFileSync(join(lab.conf.dir, "outside-root.txt"), "not for guests\n", { mode: 0o644 });
    writeFileSync(lab.conf.file, readFileSync(lab.conf.file, "utf8").replace("TFTPROOT", root));

    const g = await lab.addGuest("vm0");
    const r = await lab.hook("qemu-natup", "vm0");
    expect(r.code, r.stderr).toBe(0);
    const l = await bootLease(g);
    expect(l).toMatchObject({ bootFile: "pxe/boot.bin", siaddr: "192.0.2.1" });

    const got = join(lab.conf.dir, "got.bin");
    const t = await g.tryRun("busybox", ["tftp", "-g", "-r", "pxe/boot.bin", "-l", got, "192.0.2.1"], {
      timeout: 30_000,
    });
    expect(t.exitCode, String(t.stderr)).toBe(0);
    expect(readFileSync(got, "utf8")).toBe(payload);
    // Confined to the root: a file beside it is not served.
    const out = join(lab.conf.dir, "escaped.txt");
    const esc = await g.tryRun("busybox", ["tftp", "-g", "-r", "../outside-root.txt", "-l", out, "192.0.2.1"], {
      timeout: 30_000,
    });
    expect(esc.exitCode).not.toBe(0);
    const status = await lab.host.tryRun(process.execPath, [program("kvmnet"), "status", "nat0"], {
      env: { KVMNET_CONFIG: lab.conf.file, NO_COLOR: "1" },
      timeout: 60_000,
    });
    expect(String(status.stdout)).toContain(`  boot      tftp ${root}, bios pxe/boot.bin\n`);
  });

  it("refuses a tftp_root dnsmasq cannot read as nobody, at FILE:LINE, and starts nothing", async () => {
    lab = await makeLab({
      section: (br) => natSection(br, "tftp_root = TFTPROOT\nboot_file = boot.bin\n"),
    });
    const root = join(lab.conf.dir, "tftp");
    mkdirSync(root, { mode: 0o700 });
    chmodSync(root, 0o700);
    writeFileSync(join(root, "boot.bin"), "x", { mode: 0o644 });
    writeFileSync(lab.conf.file, readFileSync(lab.conf.file, "utf8").replace("TFTPROOT", root));
    await lab.addGuest("vm0");
    const r = await lab.hook("qemu-natup", "vm0");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`kvmnet\\.conf:\\d+: tftp_root: ${root}: .*nobody.*mode 0700`));
    expect(await lab.host.sh(`ip -br link show ${lab.bridge} 2>/dev/null || true`)).toBe("");
  });
});
