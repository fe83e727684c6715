// Plan golden tests, in the style of libvirt's networkxml2firewalldata: each directory of test/golden/plan/ holds a
// config (the config now) and a host observed on a real host (test/golden/plan/README.md); decide() on them must
// give the plan in its plan.txt. Every golden was reviewed by hand: the README says what each shows and why.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decide } from "../../src/converge/decision.js";
import { loadPlanCase, planTranscript } from "../helpers/plan-fixture.js";

const ROOT = join(import.meta.dirname, "../golden/plan");
const cases = readdirSync(ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe("plan goldens: config + observed host -> plan", () => {
  it("finds the cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });

  it.each(cases)("%s", async (name) => {
    const c = loadPlanCase(join(ROOT, name));
    const d = decide(c.config, c.net, c.snapshot, c.intent);
    await expect(planTranscript(c.net, c.intent, d)).toMatchFileSnapshot(join(ROOT, name, "plan.txt"));
  });
});
