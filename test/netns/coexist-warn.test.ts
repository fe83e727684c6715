// The once-only warnings of the up hooks and `kvmnet up` when a configured network is broken by ufw or another
// table's drop policy: the first run warns on stderr, later runs do not; when the finding is gone its marker goes,
// and when it comes back it is said again. The warm path reads no ruleset (ufw is judged from its files): the
// programs run with wrappers in PATH that log every nft and iptables-*save call.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";
import { hostUfwState, ufwSandbox } from "../helpers/ufw.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A PATH whose nft and iptables-*save log their arguments to LOG before running the real ones. */
function loggingPath() {
  const dir = mkdtempSync(join(tmpdir(), "kvmnet-path-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, "log");
  writeFileSync(log, "");
  for (const t of ["nft", "iptables-save", "iptables-nft-save", "iptables-legacy-save"]) {
    writeFileSync(join(dir, t), `#!/bin/sh\necho "${t} $*" >> ${log}\nexec /usr/sbin/${t} "$@"\n`);
    chmodSync(join(dir, t), 0o755);
  }
  return {
    PATH: `${dir}:/usr/sbin:/usr/bin:/sbin:/bin`,
    /** The calls logged since the last take(). */
    take(): string[] {
      const lines = readFileSync(log, "utf8").split("\n").filter(Boolean);
      writeFileSync(log, "");
      return lines;
    },
  };
}

// kvmnet's own firewall code runs iptables-save (the other backend's rules); the coexistence reader runs these.
const readsRulesets = (calls: string[]) =>
  calls.filter((c) => /^(nft list ruleset|iptables-nft-save|iptables-legacy-save) *$/.test(c)).sort();
const warnings = (stderr: string) => stderr.split("\n").filter((l) => l.includes("warning: network nat0: "));

function setup(lab: Lab) {
  const path = loggingPath();
  const markers = () => readdirSync(lab.conf.stateDir).filter((n) => n.startsWith("nat0.coexist."));
  return { path, markers };
}

describe("once-only coexistence warnings", () => {
  it("control: a host with nothing in the way gets no warning and no marker; only a cold start reads the rulesets", async () => {
    const lab = await makeLab();
    cleanups.push(async () => await lab.destroy());
    const { path, markers } = setup(lab);
    await lab.addGuest("vm1");
    await lab.addGuest("vm2");
    const cold = await lab.hook("qemu-natup", "vm1", { PATH: path.PATH });
    expect(cold.code, cold.stderr).toBe(0);
    expect(cold.stderr).toBe("");
    // Cold: kvmnet writes its rules, so it looks at everyone else's: nft only, as nft shows no table iptables-nft
    // made and the kernel lists no legacy table.
    expect(readsRulesets(path.take())).toEqual(["nft list ruleset"]);
    const warm = await lab.hook("qemu-natup", "vm2", { PATH: path.PATH });
    expect(warm.code, warm.stderr).toBe(0);
    expect(warm.stderr).toBe("");
    expect(readsRulesets(path.take())).toEqual([]);
    expect(markers()).toEqual([]);
  });

  it("ufw (judged from its files, also on the warm path): said once, gone with the fix, said again when back", async () => {
    const before = await hostUfwState();
    const lab = await makeLab();
    const sb = ufwSandbox(lab.host);
    cleanups.push(async () => {
      await lab.destroy();
      sb.cleanup();
      expect(await hostUfwState()).toBe(before);
    });
    const { path, markers } = setup(lab);
    const hook = async (tap: string) =>
      await sb.run(process.execPath, [program("qemu-natup"), tap], { KVMNET_CONFIG: lab.conf.file, PATH: path.PATH });
    for (const t of ["vm1", "vm2", "vm3", "vm4"]) await lab.addGuest(t);
    await sb.ufw("--force", "enable");
    path.take();

    const first = await hook("vm1");
    expect(first.code, first.err).toBe(0);
    expect(warnings(first.err)).toEqual([
      "qemu-natup: warning: network nat0: ufw is active with deny (routed) and deny (incoming): it drops the traffic of nat0 (forwarded traffic, DHCP and DNS to kvmnet's dnsmasq), whatever kvmnet's own rules allow",
    ]);
    expect(first.err).toMatch(
      `qemu-natup:   fix: let the bridge through with ufw itself (it keeps these across reloads): ufw allow in on ${lab.bridge} to any port 67 proto udp; ufw allow in on ${lab.bridge} to any port 53; ufw route allow in on ${lab.bridge}\n`,
    );
    expect(markers()).toHaveLength(1);
    path.take();

    const second = await hook("vm2");
    expect(second.code).toBe(0);
    expect(second.err).toBe("");
    expect(readsRulesets(path.take())).toEqual([]);

    await sb.ufw("allow", "in", "on", lab.bridge, "to", "any", "port", "67", "proto", "udp");
    await sb.ufw("allow", "in", "on", lab.bridge, "to", "any", "port", "53");
    await sb.ufw("route", "allow", "in", "on", lab.bridge);
    const fixed = await hook("vm3");
    expect(fixed.err).toBe("");
    expect(markers()).toEqual([]);

    await sb.ufw("route", "delete", "allow", "in", "on", lab.bridge);
    const back = await hook("vm4");
    expect(back.code).toBe(0);
    expect(warnings(back.err)).toEqual([
      "qemu-natup: warning: network nat0: ufw is active with deny (routed) and deny (incoming): it drops the traffic of nat0 (forwarded traffic), whatever kvmnet's own rules allow",
    ]);
    expect(back.err).toMatch(
      `fix: let the bridge through with ufw itself (it keeps these across reloads): ufw route allow in on ${lab.bridge}\n`,
    );
    expect(readsRulesets(path.take())).toEqual([]);
    expect((await hook("vm4")).err).toBe("");
  });

  it("a cold start reads iptables-nft-save and iptables-legacy-save when there are such tables", async () => {
    const lab = await makeLab();
    cleanups.push(async () => await lab.destroy());
    const { path } = setup(lab);
    await lab.host.sh("iptables-nft -t mangle -N X; iptables-legacy -N Y");
    await lab.addGuest("vm1");
    expect((await lab.hook("qemu-natup", "vm1", { PATH: path.PATH })).code).toBe(0);
    expect(readsRulesets(path.take())).toEqual(["iptables-legacy-save ", "iptables-nft-save ", "nft list ruleset"]);
  });

  it("another table's drop (judged only when the rulesets are read: cold start, kvmnet up): said once, again after it was gone", async () => {
    const lab = await makeLab();
    cleanups.push(async () => await lab.destroy());
    const { path, markers } = setup(lab);
    const env = { PATH: path.PATH };
    const up = async () =>
      await lab.host.tryRun(process.execPath, [program("kvmnet"), "up", "nat0"], {
        env: { KVMNET_CONFIG: lab.conf.file, ...env },
      });
    const drop =
      "nft add table inet other; nft add chain inet other fw '{ type filter hook forward priority 0; policy drop; }'";
    await lab.host.sh(drop);
    await lab.addGuest("vm1");
    await lab.addGuest("vm2");
    const said =
      /warning: network nat0: inet other chain fw has policy drop: forwarded traffic of nat0 is dropped there/;

    const cold = await lab.hook("qemu-natup", "vm1", env);
    expect(cold.code, cold.stderr).toBe(0);
    expect(warnings(cold.stderr)).toHaveLength(1);
    expect(cold.stderr).toMatch(said);
    expect(cold.stderr).toMatch(
      `fix: let the bridge through in that chain: nft insert rule inet other fw iifname ${lab.bridge} accept; nft insert rule inet other fw oifname ${lab.bridge} accept`,
    );
    expect(markers()).toHaveLength(1);

    const warm = await lab.hook("qemu-natup", "vm2", env);
    expect(warm.stderr).toBe("");
    path.take();
    const again = await up();
    expect(again.exitCode).toBe(0);
    expect(String(again.stderr)).toBe("");
    expect(readsRulesets(path.take())).toContain("nft list ruleset");
    expect(markers()).toHaveLength(1);

    await lab.host.sh("nft delete table inet other");
    expect(String((await up()).stderr)).toBe("");
    expect(markers()).toEqual([]);

    await lab.host.sh(drop);
    const back = await up();
    expect(warnings(String(back.stderr))).toHaveLength(1);
    expect(String(back.stderr)).toMatch(said);
    expect(String((await up()).stderr)).toBe("");
  });
});
