// Global setup of the e2e config: install the packed tarball once before any file starts, and collect
// every file's network-ready rows into one table printed at the end of the run.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installPacked } from "./install.js";
import { table, type ReadyRow } from "./guests.js";

/** Install, and point the workers (they inherit this environment) at a file for their rows. */
export default async function setup(): Promise<() => void> {
  const installed = await installPacked();
  const dir = mkdtempSync(join(tmpdir(), "kvmnet-e2e-times-"));
  const file = join(dir, "rows.jsonl");
  process.env.KVMNET_E2E_TIMES = file;
  console.log(`e2e: programs installed from ${installed.tarball} into ${installed.prefix}`);
  return () => {
    if (existsSync(file)) {
      const rows = readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as ReadyRow);
      console.log(
        `\nnetwork ready per case (QEMU start to the guest's lease; guest DHCP exchange = eth0 present to lease):\n${table(rows)}\n`,
      );
    }
    rmSync(dir, { recursive: true, force: true });
  };
}
