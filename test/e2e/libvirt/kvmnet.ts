// kvmnet inside the libvirt namespace as a user sets it up: the npm-installed programs linked into /etc by
// `kvmnet install`, `/etc/qemu-natup@NET` links, and /etc/kvmnet.conf (libvirt passes the hooks no
// environment, so KVMNET_CONFIG cannot point them anywhere else). Plus what libvirtd logged of the hooks.
import type { Installed } from "../install.js";
import type { Libvirt } from "./daemon.js";

/** Run `kvmnet install --dest /etc`, link PROGRAM@NET for each of LINKS, and write CONFIG as /etc/kvmnet.conf. */
export async function installKvmnet(
  lv: Libvirt,
  installed: Installed,
  config: string,
  links: string[],
): Promise<string> {
  const r = await lv.sh(`set -e
    ${installed.bin("kvmnet")} install --dest /etc
    ${links.map((l) => `ln -sfn /etc/${l.split("@")[0]} /etc/${l}`).join("\n")}
    cat > /etc/kvmnet.conf <<'EOF'
${config}EOF
    chmod 0644 /etc/kvmnet.conf`);
  if (r.code !== 0) throw new Error(`installing kvmnet into the libvirt namespace failed: ${r.err}`);
  return r.out;
}

/** Replace /etc/kvmnet.conf. */
export async function writeConfig(lv: Libvirt, config: string): Promise<void> {
  const r = await lv.sh(`cat > /etc/kvmnet.conf <<'EOF'\n${config}EOF\nchmod 0644 /etc/kvmnet.conf`);
  if (r.code !== 0) throw new Error(r.err);
}

/** One hook run by libvirtd, from its log: the program, its argument as libvirt quoted it, and the error it
 *  reported, if the hook failed. */
export interface HookRun {
  program: string;
  arg: string;
  failed?: string;
}

/** Every run of a kvmnet hook in libvirtd's log, in order. */
export function hookRuns(lv: Libvirt): HookRun[] {
  const runs: HookRun[] = [];
  for (const line of lv.read("/var/log/libvirt/libvirtd.log").split("\n")) {
    const run = / About to run .* (\/etc\/qemu-\S+) (\S+)$/.exec(line);
    if (run) runs.push({ program: run[1]!, arg: run[2]! });
    const err = /Child process \(.* (\/etc\/qemu-\S+) (\S+)\) unexpected exit status (\d+): (.*)$/.exec(line);
    if (err) {
      const last = [...runs].reverse().find((r) => r.program === err[1] && r.arg === err[2]);
      if (last) last.failed = `exit status ${err[3]}: ${err[4]}`;
    }
  }
  return runs;
}

/** The "tainted" lines of a domain's log (/var/log/libvirt/qemu/NAME.log). */
export function taints(lv: Libvirt, domain: string): string[] {
  return lv
    .read(`/var/log/libvirt/qemu/${domain}.log`)
    .split("\n")
    .filter((l) => l.includes("tainted"));
}
