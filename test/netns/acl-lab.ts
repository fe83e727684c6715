// The two networks the tests of changed firewall rules use (web: nat, 192.0.2.0/26; db: routed, 192.0.2.64/26),
// the config with rules added to them, and `kvmnet up --all`.
import { expect } from "vitest";
import type { Lab } from "./models-lab.js";
import { program } from "../helpers/netns.js";

/** The networks' sections on bridges BR + "w" and BR + "d", no rules. */
export const webDbBody = (br: string) =>
  `[web]\nmode = nat\nbridge = ${br}w\naddress = 192.0.2.1/26\n\n` +
  `[db]\nmode = routed\nbridge = ${br}d\naddress = 192.0.2.65/26\n`;

/** The config BASE (of webDbBody) with RULES' lines added at the end of each network's section. */
export const withRules = (base: string, rules: { web?: string; db?: string }) =>
  base.replace("\n\n[db]", `\n${rules.web ?? ""}\n[db]`) + (rules.db ?? "");

/** `kvmnet up --all` in LAB's host, which must exit 0; what it printed. */
export async function upAll(lab: Lab): Promise<string> {
  const r = await lab.host.tryRun(program("kvmnet"), ["up", "--all"], { env: { KVMNET_CONFIG: lab.conf.file } });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return String(r.stderr) + String(r.stdout);
}
