// Reading kvmnet.conf from disk: which file, who owns it, and its parsed form.
import { readFileSync, statSync } from "node:fs";
import { ConfigError } from "../errors.js";
import type { Config } from "./types.js";
import { parseConfig } from "./validate.js";

/** The config file path: $KVMNET_CONFIG, else /etc/kvmnet.conf. */
export function configPath(env: NodeJS.ProcessEnv): string {
  return env.KVMNET_CONFIG || "/etc/kvmnet.conf";
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
    if (st.uid !== 0) fail(`owned by uid ${st.uid}, not root: kvmnet runs as root and reads only root's files (chown root: ${file})`);
    if (st.mode & 0o022) fail(`writable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}): run chmod go-w ${file}`);
    text = readFileSync(file, "utf8");
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    fail(`cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return parseConfig(file, text);
}
