// The real ufw (Debian's package), enabled inside a test namespace only: each command runs in the namespace and in
// a private mount namespace where /etc/ufw, /lib/ufw and /etc/default/ufw are temp copies (ufw's sysctl file
// replaced by an empty one, since some of its keys are not per namespace), so `ufw --force enable` loads its rules
// into that namespace's iptables and writes only the copies. The host's ufw stays disabled.
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import type { Netns } from "./netns.js";

/** A ufw sandbox for namespace NS. */
export function ufwSandbox(ns: Netns) {
  const dir = mkdtempSync(join(tmpdir(), "kvmnet-ufw-"));
  cpSync("/etc/ufw", join(dir, "etc-ufw"), { recursive: true });
  cpSync("/lib/ufw", join(dir, "lib-ufw"), { recursive: true });
  writeFileSync(join(dir, "sysctl"), "");
  writeFileSync(
    join(dir, "default-ufw"),
    readFileSync("/etc/default/ufw", "utf8").replace(/^IPT_SYSCTL=.*$/m, `IPT_SYSCTL=${join(dir, "sysctl")}`),
  );
  const enter = join(dir, "enter.sh");
  writeFileSync(
    enter,
    `#!/bin/sh\nset -e\nmount --bind ${dir}/etc-ufw /etc/ufw\nmount --bind ${dir}/lib-ufw /lib/ufw\nmount --bind ${dir}/default-ufw /etc/default/ufw\nexec "$@"\n`,
  );
  chmodSync(enter, 0o755);
  const wrap = (cmd: string, args: string[]) => [
    "netns",
    "exec",
    ns.name,
    "unshare",
    "-m",
    "--propagation",
    "private",
    enter,
    cmd,
    ...args,
  ];
  return {
    dir,
    /** Run CMD ARGS in the namespace with ufw's files swapped for the copies; returns code and output. */
    async run(cmd: string, args: string[], env: Record<string, string> = {}) {
      const r = await execa("ip", wrap(cmd, args), { env, reject: false, timeout: 60_000 });
      return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
    },
    /** Run `ufw ARGS` (throws on failure). */
    async ufw(...args: string[]): Promise<string> {
      const r = await execa("ip", wrap("ufw", args), { timeout: 60_000 });
      return String(r.stdout);
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The host's own ufw files and rulesets, to show a test changed none of them. */
export async function hostUfwState(): Promise<string> {
  const files = ["/etc/ufw/ufw.conf", "/etc/ufw/user.rules", "/etc/ufw/user6.rules", "/etc/default/ufw"];
  const text = files.map((f) => `${f}\n${readFileSync(f, "utf8")}`).join("\n");
  const run = async (cmd: string, args: string[]) =>
    String((await execa(cmd, args, { reject: false })).stdout).replace(/^# (Generated|Completed) .*$/gm, "");
  return [
    text,
    await run("nft", ["list", "ruleset"]),
    await run("iptables-nft-save", []),
    await run("iptables-legacy-save", []),
    await run("ip6tables-nft-save", []),
  ].join("\n---\n");
}
