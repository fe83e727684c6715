// kvmnet's own SHA-256 (src/core/sha256.ts) gives node:crypto's digests, so that the firewall chain's digest, bridge
// MACs and ULA prefixes already on a host stay the same; and a built hook loads neither node:crypto nor node:zlib.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sha256, sha256Hex } from "../../src/core/sha256.js";
import { ROOT } from "../helpers/netns.js";

const node = (text: string) => createHash("sha256").update(text).digest("hex");

describe("sha256", () => {
  // Around the padding's edges (55/56 and 63/64/65 bytes), several blocks, and multi-byte UTF-8.
  const lengths = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 4097];
  it.each(lengths)("matches node:crypto for %i bytes", (n) => {
    const text = Array.from({ length: n }, (_, i) => String.fromCharCode(32 + ((i * 7) % 95))).join("");
    expect(sha256Hex(text)).toBe(node(text));
  });

  it("hashes text as UTF-8, and returns 32 bytes", () => {
    for (const text of ["kvmnet:nat0", "é ü — 日本 🙂", '{"chains":{"from-nat0":["iifname \\"br\\" accept"]}}'])
      expect(sha256Hex(text)).toBe(node(text));
    expect(Buffer.from(sha256("abc")).toString("hex")).toBe(node("abc"));
    expect(sha256("abc")).toHaveLength(32);
  });

  it("answers a text hashed before (sha256Hex keeps the last ones) with the same digest, also past its bound", () => {
    const texts = Array.from({ length: 80 }, (_, i) => `{"chains":{"from-net${i}":[]}}`);
    for (const round of [1, 2]) for (const t of texts) expect(sha256Hex(t), `round ${round}`).toBe(node(t));
  });
});

describe("what a hook loads", () => {
  const dir = mkdtempSync(join(tmpdir(), "kvmnet-load-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("neither node:crypto nor node:zlib (each costs every start more than the work it would do)", () => {
    const preload = join(dir, "loaded.cjs");
    writeFileSync(preload, `process.on("exit", () => process.stderr.write(JSON.stringify(process.moduleLoadList)));`);
    const r = spawnSync(process.execPath, ["-r", preload, join(ROOT, "dist/qemu-natup.cjs"), "--help"], {
      encoding: "utf8",
      env: { PATH: process.env.PATH },
    });
    expect(r.status, r.stderr).toBe(0);
    const loaded: string[] = JSON.parse(r.stderr);
    expect(loaded).toContain("NativeModule child_process"); // the list is what it seems
    expect(loaded.filter((m) => /^NativeModule (crypto|zlib)$/.test(m))).toEqual([]);
  });
});
