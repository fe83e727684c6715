// The pacing and back-off of kvmnet watch's passes (src/core/pacer.ts), on a fake clock: plain numbers, no timers.
import { describe, expect, it } from "vitest";
import { Pacer } from "../../src/core/pacer.js";

const pacing = { settleMs: 150, burst: 5, windowMs: 10_000 };

describe("the watch's pacing", () => {
  it("waits SETTLE after each event, however many come", () => {
    const p = new Pacer(pacing);
    expect(p.delay(0)).toBe(150);
    expect(p.delay(40)).toBe(150);
  });

  it("starts one pass at a time; one due meanwhile is one more round of it, not a second pass", () => {
    const p = new Pacer(pacing);
    expect(p.start()).toBe(true);
    expect(p.start()).toBe(false); // the timer fired again while the first round ran
    expect(p.start()).toBe(false);
    expect(p.another()).toBe(true); // one more round for both
    expect(p.another()).toBe(false);
    p.end();
    expect(p.start()).toBe(true);
    expect(p.another()).toBe(false);
  });

  it("lets the next pass start after one that failed", () => {
    const p = new Pacer(pacing);
    expect(p.start()).toBe(true);
    p.end();
    expect(p.start()).toBe(true);
  });
});

describe("the watch's back-off", () => {
  it("holds the next pass for WINDOW after BURST changing rounds within WINDOW, then counts afresh", () => {
    const p = new Pacer(pacing);
    for (const t of [0, 1000, 2000, 3000]) expect(p.roundDone(t, 2)).toBe(false);
    expect(p.roundDone(4000, 1)).toBe(true);
    expect(p.delay(4000)).toBe(10_000);
    expect(p.delay(9000)).toBe(5000);
    expect(p.delay(13_990)).toBe(150); // never less than SETTLE
    expect(p.delay(20_000)).toBe(150);
    // Counting started afresh: four more are not a burst.
    for (const t of [20_000, 20_100, 20_200, 20_300]) expect(p.roundDone(t, 1)).toBe(false);
    expect(p.roundDone(20_400, 1)).toBe(true);
  });

  it("counts only rounds that changed something", () => {
    const p = new Pacer(pacing);
    for (let t = 0; t < 50; t++) expect(p.roundDone(t * 10, 0)).toBe(false);
    expect(p.delay(500)).toBe(150);
  });

  it("does not hold when the last BURST changing rounds span WINDOW or more", () => {
    const p = new Pacer(pacing);
    for (const t of [0, 3000, 6000, 9000]) expect(p.roundDone(t, 1)).toBe(false);
    expect(p.roundDone(10_000, 1)).toBe(false); // 10 s since the first of these five
    // The window slides: with a sixth, the last five (3000..10500) fall within 7.5 s.
    expect(p.roundDone(10_500, 1)).toBe(true);
    expect(p.delay(10_500)).toBe(10_000);
  });
});
