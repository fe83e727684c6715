// Switching `firewall =` while a network is up, then `kvmnet up`: the network's rules move to the other
// backend and nothing of the first one is left (issue 10), in both directions, and its guest keeps NAT.
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, OUTSIDE, type Lab } from "../helpers/lab.js";
import { program, type Netns } from "../helpers/netns.js";

const kvmnet = async (ns: Netns, file: string, args: string[]) => {
  const r = await ns.tryRun(program("kvmnet"), args, { env: { KVMNET_CONFIG: file } });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
};

const kvmnetOf = async (lab: Lab) => await lab.host.sh("nft list tables | grep -c kvmnet || true");
const iptablesOf = async (lab: Lab) => await lab.host.sh("iptables-save | grep -c KVMNET || true");

describe("switching the firewall backend", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it.each([
    ["nftables", "iptables"],
    ["iptables", "nftables"],
  ] as const)(
    "%s -> %s -> back: only the configured backend's rules remain",
    async (from, to) => {
      lab = await makeLab({ firewall: from });
      const g = await lab.addGuest("vm0");
      await g.sh("ip addr add 192.0.2.50/24 dev eth0 && ip route add default via 192.0.2.1");
      expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
      expect(await lab.ping(g, OUTSIDE)).toBe(true);
      for (const backend of [to, from]) {
        await lab.host.sh(`sed -i 's/^firewall = .*/firewall = ${backend}/' ${lab.conf.file}`);
        const up = await kvmnet(lab.host, lab.conf.file, ["up", "nat0"]);
        expect(up.code, up.err).toBe(0);
        if (backend === "nftables") {
          expect(await kvmnetOf(lab)).toBe("1");
          expect(await iptablesOf(lab)).toBe("0");
        } else {
          expect(await kvmnetOf(lab)).toBe("0");
          expect(Number(await iptablesOf(lab))).toBeGreaterThan(0);
        }
        expect(await lab.ping(g, OUTSIDE), `NAT with ${backend}`).toBe(true);
        expect((await kvmnet(lab.host, lab.conf.file, ["up", "nat0"])).out).toBe("nat0: already up as configured");
      }
    },
    60_000,
  );
});
