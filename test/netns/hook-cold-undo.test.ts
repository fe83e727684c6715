// A failed cold bring-up undoes what it made in that run (plain QEMU runs no downscript after a failed up
// script), and libvirt's downscript argument "(null)" does when-idle teardown like a tap that is gone.
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { nsState } from "./models-lab.js";

describe("cold bring-up failure and libvirt's downscript", () => {
  let lab: Lab;
  let stop: (() => void) | undefined;
  afterEach(async () => {
    stop?.();
    stop = undefined;
    await lab?.destroy();
  });

  it.each(["nftables", "iptables"] as const)(
    "dnsmasq cannot bind: exit 1 naming it, and nothing is left (%s)",
    async (firewall) => {
      lab = await makeLab({ firewall });
      await lab.addGuest("vm0");
      // A DNS server of someone else's on every address, port 53 (no SO_REUSEADDR): dnsmasq cannot bind the bridge's.
      const squatter = lab.host.spawn("node", [
        "-e",
        "require('dgram').createSocket('udp4').bind(53, () => console.log('ready'))",
      ]);
      stop = () => squatter.kill("SIGTERM");
      await new Promise<void>((resolve) => squatter.stdout!.once("data", () => resolve()));
      const before = await nsState(lab.host, undefined, false);
      expect(await lab.host.sh("cat /proc/sys/net/ipv4/ip_forward")).toBe("0");
      const r = await lab.hook("qemu-natup", "vm0", { KVMNET_VERBOSE: "1" });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^qemu-natup: command failed: dnsmasq --conf-file=\S+: .*Address already in use/m);
      expect(r.stderr).toMatch(
        /^qemu-natup: undone: kvmnet removed what this run had made of network nat0 \(\d+ steps\)$/m,
      );
      // The bridge, kvmnet's rules, forwarding and dnsmasq's files are gone again (iptables-nft keeps the empty
      // built-in chains it made on first use: not kvmnet's, and harmless).
      expect(await nsState(lab.host, undefined, false)).toBe(before);
      expect(await lab.host.sh(`ls ${lab.conf.stateDir}`)).toBe("");
    },
  );

  it("qemu-natdown '(null)' and a tap that is gone tear an idle network down (teardown = when-idle)", async () => {
    lab = await makeLab({ section: (br) => natSection(br, "teardown = when-idle\n") });
    await lab.addGuest("vm0");
    await lab.addGuest("vm1");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect((await lab.hook("qemu-natup", "vm1")).code).toBe(0);
    // libvirt closes the tap before it runs the downscript.
    await lab.host.sh("ip link del vm0");
    const one = await lab.hook("qemu-natdown", "(null)");
    expect(one.code, one.stderr).toBe(0);
    expect(await lab.host.sh(`ls /sys/class/net/${lab.bridge}/brif`)).toBe("vm1");
    await lab.host.sh("ip link del vm1");
    const last = await lab.hook("qemu-natdown", "vm1");
    expect(last.code, last.stderr).toBe(0);
    expect(await lab.host.sh(`ls /sys/class/net | grep -c ${lab.bridge} || true`)).toBe("0");
    expect(await lab.host.sh("nft list tables")).not.toMatch(/kvmnet/);
    expect(await lab.host.sh(`ls ${lab.conf.stateDir}`)).toBe("");
  });
});
