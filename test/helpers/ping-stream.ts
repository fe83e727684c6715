// A continuous ping from a guest whose every reply is timed as it arrives: to show that a change fell inside the
// stream and lost nothing (no gap in the sequence numbers), without depending on how long the change took.
import { expect } from "vitest";
import type { Netns } from "./netns.js";

/** A running `busybox ping -i 0.05` from G to ADDRESS; stop() ends it (SIGINT) and returns the replies. */
export function pingStream(g: Netns, address: string) {
  const child = g.spawn("busybox", ["ping", "-i", "0.05", address]);
  const replies: { seq: number; at: number }[] = [];
  let rest = "";
  child.stdout!.on("data", (d: Buffer) => {
    const lines = (rest + String(d)).split("\n");
    rest = lines.pop()!;
    for (const l of lines) {
      const m = /bytes from .*seq=(\d+)/.exec(l);
      if (m) replies.push({ seq: Number(m[1]), at: Date.now() });
    }
  });
  return {
    replies,
    async stop() {
      child.kill("SIGINT");
      await child;
      return replies;
    },
  };
}

/** REPLIES began before START and went on after END (ms since the epoch), with no sequence number missing. */
export function expectUnbroken(replies: { seq: number; at: number }[], start: number, end: number): void {
  const seqs = replies.map((r) => r.seq);
  expect(seqs.length, "ping replies").toBeGreaterThan(0);
  const missing = Array.from({ length: Math.max(...seqs) + 1 }, (_, i) => i).filter((i) => !seqs.includes(i));
  expect(missing, "ping sequence numbers with no reply").toEqual([]);
  expect(replies.filter((r) => r.at < start).length, "ping replies before the change").toBeGreaterThan(0);
  expect(replies.filter((r) => r.at > end).length, "ping replies after the change").toBeGreaterThan(0);
}
