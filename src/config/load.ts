// Reading kvmnet.conf from disk: which file, who owns it, and its parsed form, with the directories it names
// checked before anything is changed: root writes there (see host/trust.ts).
import { readFileSync, statSync } from "node:fs";
import { ConfigError, type ConfigProblem } from "../errors.js";
import { errnoWords } from "../errno.js";
import { untrustedReason } from "../host/trust.js";
import type { Config } from "./types.js";
import { configFile } from "../core/served.js";
import { parseConfig } from "./validate.js";

/** The config file path: $KVMNET_CONFIG, else /etc/kvmnet.conf. */
export function configPath(env: NodeJS.ProcessEnv): string {
  return configFile(env);
}

/** Read, check ownership and permissions, and validate the config file. */
export function loadConfig(file: string): Config {
  const fail = (message: string): never => {
    throw new ConfigError([{ file, line: 0, key: "", message }]);
  };
  let text = "";
  try {
    const st = statSync(file);
    if (!st.isFile()) fail("is not a regular file");
    if (st.uid !== 0)
      fail(`owned by uid ${st.uid}, not root: kvmnet runs as root and reads only root's files (chown root: ${file})`);
    if (st.mode & 0o022)
      fail(
        `writable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}): run chmod go-w ${file}`,
      );
    // Its directories (and any symlink on the way) too: whoever can write one can swap the file.
    const why = untrustedReason(file);
    if (why) fail(why);
    text = readFileSync(file, "utf8");
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    if ((e as NodeJS.ErrnoException).code === "ENOENT")
      fail(
        "does not exist: `kvmnet install` writes a default one (a NAT network, commented), kvmnet.conf(5) describes it",
      );
    fail(`cannot read: ${errnoWords(e)}`);
  }
  const config = parseConfig(file, text);
  const problems = dirProblems(config, text);
  if (problems.length) throw new ConfigError(problems);
  return config;
}

// state_dir and lease_dir: root writes files there and hands them to dnsmasq, so no one else may be able to
// write them or any directory above them (a missing tail is fine: kvmnet creates it, root's, mode 0755).
function dirProblems(config: Config, text: string): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const [key, dir] of [
    ["state_dir", config.stateDir],
    ["lease_dir", config.leaseDir],
  ] as const) {
    const why = untrustedReason(dir);
    if (why)
      out.push({
        file: config.file,
        line: lineOf(text, key),
        key,
        message: why.startsWith(`${dir} `) ? why : `${dir}: ${why}`,
      });
  }
  return out;
}

// The line KEY is set on in TEXT, 0 when it is not (the default applies).
function lineOf(text: string, key: string): number {
  const i = text.split(/\r?\n/).findIndex((l) => new RegExp(`^\\s*${key}\\s*=`).test(l));
  return i + 1;
}
