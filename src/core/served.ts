// Hooks served by `kvmnet watch`: a hook whose host runs a watch for its config hands it the run (the watch is
// a node process already started, with its code compiled, and it knows from `nft monitor` whether the rules
// changed since it last looked), and prints what the watch answers. The request and the answer are one JSON line
// each over a unix socket in the state_dir (root's, 0600). Pure: the shapes, the socket's name, and reading the
// state_dir out of the config's text without loading the config (the hook's first stage loads none of kvmnet).

/** Changed whenever a request or an answer changes shape: a hook and a watch of different protocols do not talk. */
export const SERVED_PROTOCOL = 1;

/** The hook programs a watch serves (src/programs.ts HOOKS; a unit test keeps the two the same). */
export const SERVED_HOOKS = [
  "qemu-natup",
  "qemu-natdown",
  "qemu-ifup-bridge",
  "qemu-ifup-isolated",
  "qemu-ifup",
  "qemu-ifdown",
] as const;

/** The environment variables of a hook that change what it does; only these are handed to the watch. */
export const SERVED_ENV = ["KVMNET_CONFIG", "KVMNET_NETWORK", "KVMNET_VERBOSE"] as const;

/** What a hook asks of the watch. */
export interface HookRequest {
  v: number;
  /** The build of the hook (src/version.ts BUILD): a watch of another build declines. */
  build: string;
  /** The name the hook was run as (`qemu-natup`, `qemu-natup@NET`). */
  runAs: string;
  args: string[];
  env: Partial<Record<(typeof SERVED_ENV)[number], string>>;
  /** The hook's network namespace (`readlink /proc/self/ns/net`): a watch in another declines. */
  netns: string;
  /** The hook's parent (QEMU, whose command line gives the guard the guest's MAC). */
  ppid: number;
  /** The config file and state_dir the hook found, and how it would run kvmnet again (dnsmasq's dhcp-script). */
  config: string;
  stateDir: string;
  kvmnet: string;
}

/** The watch's answer: the hook's exit code and stderr, or why the hook must run on its own. */
export type HookReply = { served: true; code: number; err: string } | { served: false; why: string };

/** The default state_dir (src/config/validate.ts DEFAULTS.stateDir; a unit test keeps the two the same). */
export const DEFAULT_STATE_DIR = "/run/kvmnet";

/** The socket a watch serves hooks on, in STATEDIR. */
export function watchSocket(stateDir: string): string {
  return `${stateDir}/.watch.sock`;
}

/** The config file: $KVMNET_CONFIG, else /etc/kvmnet.conf. */
export function configFile(env: NodeJS.ProcessEnv): string {
  return env.KVMNET_CONFIG || "/etc/kvmnet.conf";
}

/** The state_dir the config TEXT sets in [global] (the default when it sets none); null when the text is not
 *  plain enough to tell without the config's own parser (then the hook runs on its own: the watch checks the
 *  state_dir again, so a wrong guess only costs the hook its speed). */
export function stateDirOf(text: string): string | null {
  let section = "";
  let found: string | null = null;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith(";") || line.startsWith("#")) continue;
    const head = /^\[([^\]]*)\]$/.exec(line);
    if (head) {
      section = head[1]!.trim();
      continue;
    }
    const kv = /^state_dir\s*=\s*(.*)$/.exec(line);
    if (!kv || section !== "global") continue;
    if (found !== null) return null;
    found = kv[1]!;
  }
  if (found === null) return DEFAULT_STATE_DIR;
  return /^\/[^\s"';#\\]*$/.test(found) ? found.replace(/\/+$/, "") || "/" : null;
}

/** LINE as a request, or what is wrong with it. */
export function parseRequest(line: string): HookRequest | string {
  let r: unknown;
  try {
    r = JSON.parse(line);
  } catch {
    return "not JSON";
  }
  if (typeof r !== "object" || r === null || Array.isArray(r)) return "not an object";
  const o = r as Record<string, unknown>;
  if (o.v !== SERVED_PROTOCOL) return `protocol ${String(o.v)}, not ${SERVED_PROTOCOL}`;
  for (const k of ["build", "runAs", "netns", "config", "stateDir", "kvmnet"])
    if (typeof o[k] !== "string") return `${k} is not a string`;
  if (!Array.isArray(o.args) || !o.args.every((a) => typeof a === "string")) return "args is not a list of strings";
  if (!Number.isInteger(o.ppid)) return "ppid is not a number";
  if (typeof o.env !== "object" || o.env === null) return "env is not an object";
  const env: HookRequest["env"] = {};
  for (const [k, v] of Object.entries(o.env)) {
    if (!(SERVED_ENV as readonly string[]).includes(k) || typeof v !== "string") return `env ${k} is not allowed`;
    env[k as (typeof SERVED_ENV)[number]] = v;
  }
  return { ...(o as unknown as HookRequest), env };
}
