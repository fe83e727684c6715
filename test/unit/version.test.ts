// Versions: each built program answers --version with package.json's version, baked in at build time (an apt
// repository offers an upgrade only when the version grows: the .deb takes the same one, scripts/deb/build.mjs).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { program, ROOT } from "../helpers/netns.js";

const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };

describe("--version", () => {
  it("kvmnet --version and -V print `kvmnet VERSION` from package.json, exit 0, and read no config", async () => {
    for (const flag of ["--version", "-V"]) {
      const r = await execa(program("kvmnet"), [flag], { env: { KVMNET_CONFIG: "/nonexistent" }, reject: false });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe(`kvmnet ${version}`);
      expect(r.stderr).toBe("");
    }
  });

  it("a hook says its name and kvmnet's version", async () => {
    const r = await execa(program("qemu-natup"), ["--version"], { reject: false });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(`qemu-natup (kvmnet) ${version}`);
  });
});
