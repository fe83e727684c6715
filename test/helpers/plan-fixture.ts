// Plan golden cases (test/golden/plan/CASE/): a config, the host as it was observed (host.json plus the ruleset and
// dnsmasq texts as the tools print them), and the plan decide() makes of them. This module turns a case directory
// back into the Snapshot decide() reads, and a Decision into the transcript compared with plan.txt. The fixtures
// are made on a real host by scripts/capture-plan-fixture.ts (see test/golden/plan/README.md).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Exec, RunResult } from "../../src/host/exec.js";
import { parseConfig } from "../../src/config/validate.js";
import type { Config, Network } from "../../src/config/types.js";
import type { Decision } from "../../src/converge/decision.js";
import { showStep } from "../../src/core/steps.js";
import { firewallBackend } from "../../src/firewall/choose-backend.js";
import type { Intent } from "../../src/intent.js";
import { dockerLookWanted } from "../../src/firewall/docker.js";
import type { DnsmasqState } from "../../src/observe/dnsmasq-state.js";
import type { Snapshot } from "../../src/observe/snapshot.js";
import { NFT_MAPS, NFT_TABLE, nftChains } from "../../src/core/names.js";
import { forwardPolicy } from "../../src/render/policy.js";

/** The files of a case beside host.json: the ruleset and daemon texts, as captured. A missing file means the
 *  thing was not there (no kvmnet table, no dnsmasq file); for iptables-save, that the tool failed. */
export const TEXT_FILES = {
  nft: "nft.txt",
  iptables: "iptables-save.txt",
  conf: "dnsmasq.conf",
  hosts: "dnsmasq.hosts",
  addnHosts: "dnsmasq.addnhosts",
  leaseEvent: "dnsmasq.lease-event",
  opts: "dnsmasq.dhcpopts",
} as const;

/** host.json: the Snapshot as kvmnet's own observe() took it, less what the text files hold (the firewall is
 *  observed again from them by kvmnet's own code; dnsmasq's files are read from them), plus the intent, the
 *  network's name, and `nft list tables` (which tables the thorough firewall look finds). */
export type HostFixture = Omit<Snapshot, "firewall" | "dnsmasq"> & {
  network: string;
  intent: Intent;
  nftTables: string[];
  dnsmasq: Omit<DnsmasqState, "conf" | "hosts" | "addnHosts" | "leaseEvent" | "opts"> | null;
};

/** A case as decide() gets it. */
export interface PlanCase {
  config: Config;
  net: Network;
  intent: Intent;
  snapshot: Snapshot;
}

const readOr = (path: string): string | null => (existsSync(path) ? readFileSync(path, "utf8") : null);

/** The block `\t(chain|map) NAME {` ... `\t}` of an `nft list table` listing, or null when absent. */
export function nftBlock(listing: string, kind: "chain" | "map", name: string): string | null {
  const lines = listing.split("\n");
  const start = lines.indexOf(`\t${kind} ${name} {`);
  if (start < 0) return null;
  const end = lines.indexOf("\t}", start);
  return end < 0 ? null : lines.slice(start, end + 1).join("\n");
}

/** An executor answering the firewall looks of src/firewall/nft/observe.ts, src/firewall/iptables/observe.ts and src/firewall/docker.ts from the case's
 *  texts, as nft and iptables-save would on the captured host; any other command is an error (the fixture would
 *  be missing something decide depends on). */
export function fixtureExec(net: Network, nftTables: string[], nft: string | null, save: string | null): Exec {
  const ok = (stdout: string): RunResult => ({ ok: true, code: 0, stdout, stderr: "" });
  const fail = (stderr: string): RunResult => ({ ok: false, code: 1, stdout: "", stderr });
  const table = (body: string) => `table inet ${NFT_TABLE} {\n${body}\n}\n`;
  const quick = ["list", "chain", "inet", NFT_TABLE, nftChains(net).from, ";"];
  const quickMap = ["list", "map", "inet", NFT_TABLE, NFT_MAPS.from];
  return {
    tryRun(cmd, args) {
      const line = [cmd, ...args].join(" ");
      if (line === ["nft", ...quick, ...quickMap].join(" ")) {
        // Like nft: one table block per listed object; a missing chain fails the whole command.
        const chain = nft && nftBlock(nft, "chain", nftChains(net).from);
        const map = nft && nftBlock(nft, "map", NFT_MAPS.from);
        return chain && map ? ok(table(chain) + table(map)) : fail("Error: No such file or directory");
      }
      if (line === "nft list tables") return ok(nftTables.map((t) => `${t}\n`).join(""));
      if (line === `nft list table inet ${NFT_TABLE}`) return nft ? ok(nft) : fail("Error: No such file or directory");
      // iptables here is iptables-nft (Debian's default): its save is iptables-nft-save's.
      if (line === "iptables-save" || line === "iptables-nft-save -t filter")
        return save !== null ? ok(save) : fail(`${cmd}: not found (is it installed?)`);
      if (line === "iptables-legacy-save -t filter") return fail("no legacy tables were captured");
      throw new Error(`plan fixture: no captured answer for \`${line}\``);
    },
  };
}

/** Load case DIR: its config (kvmnet.conf, the config now), intent and the Snapshot of the captured host. */
export function loadPlanCase(dir: string): PlanCase {
  const file = join(dir, "kvmnet.conf");
  const config = parseConfig(file, readFileSync(file, "utf8"));
  const host = JSON.parse(readFileSync(join(dir, "host.json"), "utf8")) as HostFixture;
  const net = config.networks.find((n) => n.name === host.network);
  if (!net) throw new Error(`${dir}: network ${host.network} is not in kvmnet.conf`);
  const text = (k: keyof typeof TEXT_FILES) => readOr(join(dir, TEXT_FILES[k]));
  const { network: _n, intent, nftTables, dnsmasq, ...seen } = host;
  const exec = fixtureExec(net, nftTables, text("nft"), text("iptables"));
  // As observe() does: the firewall looked at only for networks with rules, Docker's chains when the intent asks.
  const firewall = forwardPolicy(net)
    ? firewallBackend(config.firewall).observe(exec, net, dockerLookWanted(net, intent, seen.bridge))
    : null;
  const dns: DnsmasqState | null = dnsmasq && {
    ...dnsmasq,
    conf: text("conf"),
    hosts: text("hosts"),
    addnHosts: text("addnHosts"),
    leaseEvent: text("leaseEvent"),
    // Cases captured before the snapshot had it: none has guard = yes, so no wrapper is wanted.
    kvmnet: dnsmasq.kvmnet ?? null,
    opts: text("opts"),
  };
  // Fixtures captured before the snapshot had `csum` were taken on a kernel without act_csum (this machine's).
  const csum = (seen as Partial<typeof seen>).csum ?? { supported: false, has: null };
  return { config, net, intent, snapshot: { ...seen, csum, firewall, dnsmasq: dns } };
}

/** The name of INTENT as a command line would say it. */
export function intentLine(intent: Intent): string {
  switch (intent.action) {
    case "up":
      return "up";
    case "down":
      return intent.force ? "down --force" : "down";
    case "attach":
    case "detach":
      return `${intent.action} ${intent.tap}`;
  }
}

/** The plan as text: a line naming the intent, each step as `kvmnet plan` shows it, and whether decide asks to
 *  look at the host again. */
export function planTranscript(net: Network, intent: Intent, d: Decision): string {
  const n = d.steps.length;
  const head = `# ${net.name}: ${intentLine(intent)} (${n} step${n === 1 ? "" : "s"})`;
  const tail = d.again ? ["# again: look at the host again and decide anew"] : [];
  return [head, ...d.steps.map(showStep), ...tail].join("\n") + "\n";
}
