// The test guest (the busybox initramfs of test/vm) as a libvirt domain: <kernel>/<initrd>/<cmdline>, TCG,
// one <interface type='ethernet'> whose tap kvmnet's hooks bring up and down through <script>/<downscript>,
// and the serial console written to a file the test reads for the guest's "KVMNET-RESULT" lines.
import { existsSync, readFileSync } from "node:fs";
import { guestCmdline, type GuestOptions } from "../../vm/initramfs.js";
import { parseResultLine, type ResultLine } from "../../vm/guest.js";

/** What a domain is made of. */
export interface DomainSpec extends Pick<
  GuestOptions,
  "ip" | "hostname" | "ping" | "resolve" | "wait" | "tries" | "append"
> {
  name: string;
  kernel: string;
  initrd: string;
  mac: string;
  script: string;
  downscript: string;
  /** <target dev>; without it libvirt picks vnetN (and ignores any name starting with vnet). */
  tap?: string;
  /** Where the serial console goes (a path the test can read). */
  console: string;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/'/g, "&apos;");

/** The domain XML for SPEC. */
export function domainXml(d: DomainSpec): string {
  return `<domain type='qemu'>
  <name>${esc(d.name)}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${esc(d.kernel)}</kernel>
    <initrd>${esc(d.initrd)}</initrd>
    <cmdline>${esc(guestCmdline(d))}</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='ethernet'>
${d.tap ? `      <target dev='${esc(d.tap)}'/>\n` : ""}      <mac address='${d.mac}'/>
      <script path='${esc(d.script)}'/>
      <downscript path='${esc(d.downscript)}'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'><source path='${esc(d.console)}'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

/** The KVMNET-RESULT lines the guest has printed so far on its console file. */
export function results(consoleFile: string): ResultLine[] {
  if (!existsSync(consoleFile)) return [];
  return readFileSync(consoleFile, "utf8")
    .replace(/\r/g, "")
    .split("\n")
    .map((text) => parseResultLine({ text, atMs: 0 }))
    .filter((r): r is ResultLine => !!r);
}

/** Wait until the guest prints a KVMNET-RESULT line of KIND (and ARG0, if given); returns it. */
export async function waitForResult(
  consoleFile: string,
  kind: string,
  timeoutMs = 120_000,
  arg0?: string,
): Promise<ResultLine> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const hit = results(consoleFile).find((r) => r.kind === kind && (arg0 === undefined || r.args[0] === arg0));
    if (hit) return hit;
    if (Date.now() > end) {
      const text = existsSync(consoleFile) ? readFileSync(consoleFile, "utf8") : "(no console file)";
      throw new Error(`no "KVMNET-RESULT ${kind}" within ${timeoutMs} ms; console:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The guest's lease fields, once it has one. */
export async function leaseOf(consoleFile: string): Promise<Record<string, string>> {
  const l = await waitForResult(consoleFile, "lease");
  if (l.args[0] === "fail") throw new Error(`the guest got no lease:\n${readFileSync(consoleFile, "utf8")}`);
  return l.fields;
}
