// Switching `firewall =` while a network is up, then `kvmnet up`: the network's rules move to the other
// backend and nothing of the first one is left (issue 10), in both directions, and its guest keeps NAT.
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, OUTSIDE, type Lab } from "../helpers/lab.js";
import { program, type Netns } from "../helpers/netns.js";

const kvmnet = (ns: Netns, file: string, args: string[]) => {
  const r = ns.tryRun(program("kvmnet"), args, { env: { KVMNET_CONFIG: file } });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
};

const kvmnetOf = (lab: Lab) => lab.host.sh("nft list tables | grep -c kvmnet || true");
const iptablesOf = (lab: Lab) => lab.host.sh("iptables-save | grep -c KVMNET || true");

describe("switching the firewall backend", () => {
  let lab: Lab;
  afterEach(() => lab?.destroy());

  it.each([
    ["nftables", "iptables"],
    ["iptables", "nftables"],
  ] as const)(
    "%s -> %s -> back: only the configured backend's rules remain",
    (from, to) => {
      lab = makeLab({ firewall: from });
      const g = lab.addGuest("vm0");
      g.sh("ip addr add 192.0.2.50/24 dev eth0 && ip route add default via 192.0.2.1");
      expect(lab.hook("qemu-natup", "vm0").code).toBe(0);
      expect(lab.ping(g, OUTSIDE)).toBe(true);
      for (const backend of [to, from]) {
        lab.host.sh(`sed -i 's/^firewall = .*/firewall = ${backend}/' ${lab.conf.file}`);
        const up = kvmnet(lab.host, lab.conf.file, ["up", "nat0"]);
        expect(up.code, up.err).toBe(0);
        if (backend === "nftables") {
          expect(kvmnetOf(lab)).toBe("1");
          expect(iptablesOf(lab)).toBe("0");
        } else {
          expect(kvmnetOf(lab)).toBe("0");
          expect(Number(iptablesOf(lab))).toBeGreaterThan(0);
        }
        expect(lab.ping(g, OUTSIDE), `NAT with ${backend}`).toBe(true);
        expect(kvmnet(lab.host, lab.conf.file, ["up", "nat0"]).out).toBe("nat0: already up as configured");
      }
    },
    60_000,
  );
});
