// kvmnet's one firewall for all networks (issue 10): 40 first VMs on 40 different networks at once end with all
// 40 networks' rules in place (with nftables no host-wide lock is taken: each hook writes only its own chains
// and map elements), and 40 networks going down at once leave nothing behind, the shared table included.
import { afterEach, describe, expect, it } from "vitest";
import type { Exec } from "../../src/host/exec.js";
import { realExec } from "../../src/host/exec.js";
import { loadConfig } from "../../src/config/load.js";
import { firewallUpSteps } from "../../src/firewall/up-down.js";
import { observeFirewall } from "../../src/firewall/observe.js";
import { Netns, program, rid, tempConfig } from "../helpers/netns.js";

const N = 40;
let ns: Netns | undefined;
let conf: ReturnType<typeof tempConfig> | undefined;
afterEach(() => {
  conf?.cleanup();
  ns?.destroy();
  ns = conf = undefined;
});

/** Commands run inside NS, for kvmnet's own observation code. */
const inNs = (n: Netns): Exec => ({
  tryRun: (cmd, args, input) => realExec.tryRun("ip", ["netns", "exec", n.name, cmd, ...args], input),
});

describe.each(["nftables", "iptables"] as const)("%s: 40 networks at once", (firewall) => {
  it("40 concurrent first VMs on 40 networks: every network's rules in place; 40 concurrent last VMs: nothing left", async () => {
    ns = Netns.create("kfs");
    const tag = rid(4);
    const nets = Array.from(
      { length: N },
      (_, i) =>
        `[n${i}]\nmode = nat\nbridge = kf${tag}${i}\naddress = 198.51.100.${i * 4 + 1}/30\nteardown = when-idle\n`,
    );
    conf = tempConfig(nets.join("\n"), `firewall = ${firewall}\n`);
    ns.sh(Array.from({ length: N }, (_, i) => `ip tuntap add t${i} mode tap`).join(" && "));
    const env = (i: number) => ({ KVMNET_CONFIG: conf!.file, KVMNET_NETWORK: `n${i}` });
    const ups = await Promise.all(
      Array.from({ length: N }, (_, i) => ns!.spawn(program("qemu-natup"), [`t${i}`], { env: env(i) })),
    );
    for (const r of ups) expect(r.exitCode, String(r.stderr)).toBe(0);
    const config = loadConfig(conf.file);
    const exec = inNs(ns);
    const missing = config.networks.filter((n) => firewallUpSteps(n, observeFirewall(exec, firewall, n)).length);
    expect(missing.map((n) => n.name)).toEqual([]);
    if (firewall === "nftables") {
      // Every network's element in each forward map, and one base chain per hook.
      expect(ns.sh("nft list map inet kvmnet fwd_iif | grep -o 'jump from-' | wc -l")).toBe(String(N));
      expect(ns.sh("nft list map inet kvmnet fwd_oif | grep -o 'jump to-' | wc -l")).toBe(String(N));
      expect(ns.sh("nft list map inet kvmnet nat_saddr | grep -o 'jump nat-' | wc -l")).toBe(String(N));
      expect(ns.sh("nft list tables")).toBe("table inet kvmnet");
    } else {
      expect(ns.sh("iptables -S FORWARD | grep -c KVMNET")).toBe("1");
      expect(ns.sh("iptables -S KVMNET-FROM | grep -c -- '-A'")).toBe(String(N));
    }
    const downs = await Promise.all(
      Array.from({ length: N }, (_, i) => ns!.spawn(program("qemu-natdown"), [`t${i}`], { env: env(i) })),
    );
    for (const r of downs) expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(ns.sh("nft list tables | grep kvmnet || true")).toBe("");
    expect(ns.sh("iptables-save | grep -c KVMNET || true")).toBe("0");
  }, 240_000);
});
