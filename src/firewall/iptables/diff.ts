// The iptables backend's changes for one network, as `iptables-restore --noflush` scripts computed from one
// iptables-save (kvmnet's host-wide lock keeps it still meanwhile: the dispatch chains are shared). Pure.
import type { Network } from "../../config/types.js";
import { jumpTargets, type IptSave } from "./save.js";
import { IPT_FIXED, IPT_JUMPS, IPT_SHARED, type IptablesNetwork, type IptTable } from "./render.js";
import { FORWARD_IN_PREFIX, FORWARD_OUT_PREFIX, IPT, iptablesChains } from "../../core/names.js";

const TABLES: IptTable[] = ["filter", "nat"];
const DISPATCH: Record<IptTable, string[]> = { filter: [IPT.input, IPT.from, IPT.to], nat: [IPT.postrouting] };
const BUILTINS: Record<IptTable, string[]> = { filter: ["INPUT", "FORWARD"], nat: ["POSTROUTING"] };
const del = (rule: string) => rule.replace(/^-A /, "-D ");
const count = <T>(xs: T[], x: T) => xs.filter((y) => y === x).length;

function ownChains(net: Network, t: IptTable): string[] {
  const c = iptablesChains(net);
  return t === "filter" ? [c.input, c.forwardIn, c.forwardOut] : [c.postrouting];
}

// Every rule of kvmnet's dispatch chains and of the built-in chains that jumps to one of NET's chains.
function refsTo(net: Network, save: IptSave, t: IptTable): string[] {
  const own = ownChains(net, t);
  return [...DISPATCH[t], ...BUILTINS[t]].flatMap((ch) =>
    (save[t]?.rules[ch] ?? []).filter((l) => own.includes(/ -j (\S+)$/.exec(l)?.[1] ?? "")),
  );
}

/** True when a built-in chain jumps straight to one of NET's chains, as in kvmnet 0.1's layout (no dispatch
 *  chains). */
export function iptablesOldJumps(net: Network, save: IptSave): boolean {
  return TABLES.some((t) => {
    const own = ownChains(net, t);
    return BUILTINS[t].some((b) => jumpTargets(save, t, b).some((x) => own.includes(x)));
  });
}

/** The script that makes NET's rules exactly WANT; "" when they already are. */
export function iptablesUpScript(net: Network, want: IptablesNetwork, save: IptSave): string {
  return TABLES.map((t) => {
    const have = save[t] ?? { declared: [], rules: {} };
    const wantChains = want.chains[t];
    const entries = want.entries.filter((e) => e.table === t).map((e) => e.rule);
    const needed = Object.keys(wantChains).length > 0;
    const decl: string[] = [],
      dels: string[] = [],
      adds: string[] = [],
      drop: string[] = [];
    const rules = (ch: string) => (have.declared.includes(ch) ? (have.rules[ch] ?? []) : null);
    const write = (ch: string, lines: string[]) => {
      if (rules(ch)?.join("\n") === lines.join("\n")) return;
      decl.push(`:${ch} - [0:0]`);
      adds.push(...lines);
    };
    for (const [ch, lines] of Object.entries(wantChains)) write(ch, lines);
    if (needed) {
      for (const ch of IPT_SHARED[t]) {
        if (IPT_FIXED[ch]) write(ch, IPT_FIXED[ch]);
        else if (rules(ch) === null) decl.push(`:${ch} - [0:0]`);
      }
    }
    // Stale references to NET's chains (an old layout's built-in jumps, entries for another bridge), then
    // wanted entries: missing ones added, copies removed.
    for (const r of refsTo(net, save, t)) if (!entries.includes(r) && !r.startsWith("-A FORWARD ")) dels.push(del(r));
    for (const e of entries) {
      const n = count(have.rules[e.split(" ")[1]!] ?? [], e);
      if (n === 0) adds.push(e);
      for (let i = 1; i < n; i++) dels.push(del(e));
    }
    for (const ch of ownChains(net, t))
      if (!wantChains[ch] && have.declared.includes(ch)) drop.push(`-F ${ch}`, `-X ${ch}`);
    const jumps: string[] = [];
    for (const [b, ch] of needed ? IPT_JUMPS[t] : []) {
      if (b === "FORWARD") continue;
      const n = count(jumpTargets(save, t, b), ch);
      if (n === 0) jumps.push(`-I ${b} 1 -j ${ch}`);
      for (let i = 1; i < n; i++) dels.push(`-D ${b} -j ${ch}`);
    }
    const fwd = t === "filter" ? forwardEdits(jumpTargets(save, t, "FORWARD"), new Set(ownChains(net, t)), needed) : [];
    const body = [...decl, ...dels, ...fwd, ...drop, ...adds, ...jumps];
    return body.length ? [`*${t}`, ...body, "COMMIT"].join("\n") + "\n" : "";
  }).join("");
}

/** FORWARD's edits, by rule number against NOW (its jump targets, "" for other rules) as the edits go: NET's
 *  old-layout jumps (REMOVE) deleted; kvmnet's one jump to KVMNET-FORWARD kept, or put, after every forward-in
 *  jump and before every forward-out jump that networks not yet moved to the dispatch chains still have (so
 *  such a network's closed bridge still rejects a dispatched network's guests); such forward-in jumps found
 *  below a forward-out one moved to the top, as kvmnet always repaired them. */
export function forwardEdits(now: string[], remove: Set<string>, wantEntry = true): string[] {
  const list = [...now];
  const edits: string[] = [];
  const drop = (i: number) => {
    edits.push(`-D FORWARD ${i + 1}`);
    list.splice(i, 1);
  };
  const isIn = (x: string) => x.startsWith(FORWARD_IN_PREFIX) && !remove.has(x);
  const isOut = (x: string) => x.startsWith(FORWARD_OUT_PREFIX) && !remove.has(x);
  for (let i = list.length - 1; i >= 0; i--) if (remove.has(list[i]!)) drop(i);
  const moved: string[] = [];
  const firstOut = list.findIndex(isOut);
  for (let i = list.length - 1; firstOut >= 0 && i > firstOut; i--)
    if (isIn(list[i]!)) {
      moved.unshift(list[i]!);
      drop(i);
    }
  const k = list.reduce<number[]>((a, x, i) => (x === IPT.forward ? [...a, i] : a), []);
  const lastIn = list.map(isIn).lastIndexOf(true);
  const outAt = list.findIndex(isOut);
  const placed = k.length === 1 && k[0]! > lastIn && (outAt < 0 || k[0]! < outAt);
  if (!placed || !wantEntry) for (let i = k.length - 1; i >= 0; i--) drop(k[i]!);
  for (const ch of moved.reverse()) {
    edits.push(`-I FORWARD 1 -j ${ch}`);
    list.unshift(ch);
  }
  if ((!placed || moved.length) && wantEntry && !list.includes(IPT.forward)) {
    const at = list.map(isIn).lastIndexOf(true) + 1;
    edits.push(`-I FORWARD ${at + 1} -j ${IPT.forward}`);
    list.splice(at, 0, IPT.forward);
  }
  return edits;
}

/** The script that removes NET's chains and every reference to them; "" when there are none. */
export function iptablesDownScript(net: Network, save: IptSave): string {
  return TABLES.map((t) => {
    const chains = ownChains(net, t).filter((ch) => save[t]?.declared.includes(ch));
    const body = [
      ...refsTo(net, save, t).map(del),
      ...chains.flatMap((ch) => [`-F ${ch}`]),
      ...chains.map((ch) => `-X ${ch}`),
    ];
    return body.length ? [`*${t}`, ...body, "COMMIT"].join("\n") + "\n" : "";
  }).join("");
}

/** The script that removes kvmnet's shared chains of each table where no network but NET has an entry left;
 *  "" when there is nothing to remove. A dispatch chain is only deleted (-X), never flushed: if another hook
 *  added an entry meanwhile, iptables refuses and the step is skipped. */
export function iptablesDropSharedScript(net: Network, save: IptSave): string {
  return TABLES.map((t) => {
    const have = save[t];
    if (!have || !IPT_SHARED[t].some((ch) => have.declared.includes(ch))) return "";
    const own = ownChains(net, t);
    const others = DISPATCH[t].some((ch) =>
      (have.rules[ch] ?? []).some((l) => !own.includes(/ -j (\S+)$/.exec(l)?.[1] ?? "")),
    );
    if (others) return "";
    const body = [
      ...IPT_JUMPS[t].flatMap(([b, ch]) =>
        jumpTargets(save, t, b)
          .filter((x) => x === ch)
          .map(() => `-D ${b} -j ${ch}`),
      ),
      ...IPT_SHARED[t].filter((ch) => IPT_FIXED[ch] && have.declared.includes(ch)).map((ch) => `-F ${ch}`),
      ...IPT_SHARED[t].filter((ch) => have.declared.includes(ch)).map((ch) => `-X ${ch}`),
    ];
    return [`*${t}`, ...body, "COMMIT"].join("\n") + "\n";
  }).join("");
}
