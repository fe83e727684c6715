// `kvmnet install [--dest DIR] [--copy]`: put every hook name into DIR (default /etc) as links to the running
// kvmnet (or copies), and a kvmnet.conf from the template if there is none. It never replaces an existing file.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { errnoWords } from "../errno.js";
import { HOOKS } from "../programs.js";
import { placeConf, placeProgram, type Placed } from "./install-files.js";
import { programSource } from "../host/program-source.js";
import { reapplyUnit, userdServiceUnit, userdSocketUnit, watchUnit } from "./units.js";

const USAGE = `usage: kvmnet install [--dest DIR] [--copy]
  Put ${Object.keys(HOOKS).join(", ")} into DIR (default /etc) as symbolic links to this kvmnet
  (--copy: as copies of it), write DIR/kvmnet.conf from the template if it does not exist, and the units
  DIR/systemd/system/kvmnet-reapply.service and kvmnet-watch.service (then: systemctl daemon-reload;
  systemctl enable kvmnet-reapply.service; and, if you want it, systemctl enable --now kvmnet-watch.service),
  and kvmnet-userd.socket with kvmnet-userd.service (QEMU as an ordinary user, with allow_users / allow_groups:
  systemctl enable --now kvmnet-userd.socket).
  Existing files are never replaced: they are reported and left as they are.`;

/** Options of `kvmnet install`. */
export interface InstallOptions {
  dest: string;
  copy: boolean;
}

/** Parse the arguments after `install`; a string is a usage error, null means --help. */
export function parseInstallArgs(args: readonly string[]): InstallOptions | string | null {
  const opts: InstallOptions = { dest: "/etc", copy: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-h" || a === "--help") return null;
    else if (a === "--copy") opts.copy = true;
    else if (a === "--dest" || a.startsWith("--dest=")) {
      const v = a === "--dest" ? args[++i] : a.slice("--dest=".length);
      if (!v) return "--dest needs a directory (see kvmnet install --help)";
      opts.dest = resolve(v);
    } else return `unexpected argument "${a}" (see kvmnet install --help)`;
  }
  return opts;
}

/** Place every file for OPTS, each name running SOURCE(name), and TEMPLATE as the config; one result per path. */
export function install(opts: InstallOptions, source: (name: string) => string, template: string): Placed[] {
  try {
    mkdirSync(opts.dest, { recursive: true, mode: 0o755 });
  } catch (e) {
    return [
      {
        kind: "failed",
        path: opts.dest,
        note: `cannot create the directory: ${dirWhy(e)}`,
      },
    ];
  }
  const placed = Object.keys(HOOKS).map((name) => placeProgram(join(opts.dest, name), source(name), opts.copy));
  placed.push(placeConf(join(opts.dest, "kvmnet.conf"), template));
  // The units that put the rules back after a firewall reload (DEST/systemd/system: /etc/systemd/system).
  const units = join(opts.dest, "systemd/system");
  try {
    mkdirSync(units, { recursive: true, mode: 0o755 });
    const next = (unit: string, how: string) => `unit; ${how}: systemctl daemon-reload; systemctl enable ${unit}`;
    placed.push(
      placeConf(
        join(units, "kvmnet-reapply.service"),
        reapplyUnit(source("kvmnet")),
        next("kvmnet-reapply.service", "to re-apply after nftables or firewalld (re)load"),
      ),
    );
    placed.push(
      placeConf(
        join(units, "kvmnet-watch.service"),
        watchUnit(source("kvmnet")),
        next("--now kvmnet-watch.service", "to run kvmnet watch"),
      ),
    );
    placed.push(
      placeConf(
        join(units, "kvmnet-userd.socket"),
        userdSocketUnit(),
        next("--now kvmnet-userd.socket", "for QEMU as an ordinary user (allow_users)"),
      ),
      placeConf(
        join(units, "kvmnet-userd.service"),
        userdServiceUnit(source("kvmnet")),
        "unit; started by kvmnet-userd.socket",
      ),
    );
  } catch (e) {
    placed.push({
      kind: "failed",
      path: units,
      note: `cannot create the directory: ${dirWhy(e)}`,
    });
  }
  return placed;
}

/** One line saying what happened to a path. */
export function describe(p: Placed): string {
  switch (p.kind) {
    case "linked":
      return `linked  ${p.path} -> ${p.target}`;
    case "copied":
      return `copied  ${p.path} (from ${p.from})`;
    case "wrote":
      if (p.note) return `wrote   ${p.path} (${p.note})`;
      return `wrote   ${p.path} (template with a NAT network "default"; see kvmnet.conf(5), then run kvmnet check)`;
    case "present":
      return `present ${p.path}: ${p.note}`;
    case "kept":
      return `kept    ${p.path}: ${p.note}`;
    case "failed":
      return `failed  ${p.path}: ${p.note}`;
  }
}

/** Run `kvmnet install ARGS`; returns the exit code (0 done, 1 something could not be written, 2 usage). */
export async function runInstall(args: string[], _env: NodeJS.ProcessEnv): Promise<number> {
  const opts = parseInstallArgs(args);
  if (opts === null) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (typeof opts === "string") {
    process.stderr.write(`kvmnet: install: ${opts}\n`);
    return 2;
  }
  const { CONF_TEMPLATE } = await import("./template.js"); // loaded only here: vitest cannot import a .conf
  const placed = install(opts, programSource(), CONF_TEMPLATE);
  for (const p of placed) {
    if (p.kind === "failed") process.stderr.write(`kvmnet: install: ${describe(p)}\n`);
    else process.stdout.write(describe(p) + "\n");
  }
  return placed.some((p) => p.kind === "failed") ? 1 : 0;
}

// mkdir -p fails with EEXIST only when a file that is not a directory holds the name.
function dirWhy(e: unknown): string {
  return (e as NodeJS.ErrnoException).code === "EEXIST"
    ? "a file that is not a directory is in the way"
    : errnoWords(e);
}
