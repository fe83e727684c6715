// Published ports bound to an address (publish = tcp:ADDR:PORT=...): the host must hold ADDR, or nothing arrives.
import { trieHasLocal } from "../../observe/routes.js";
import type { DoctorContext, Finding } from "../../coexist/finding.js";

/** A warning per published port bound to an address this host does not have; none when there is no such port. */
export function checkPublish(ctx: DoctorContext): Finding[] {
  const nets = (ctx.config?.networks ?? []).filter((n) => n.publish?.some((p) => p.hostAddr));
  if (!nets.length) return [];
  const trie = ctx.read("/proc/net/fib_trie");
  if (trie === null)
    return [
      { id: "publish", level: "skip", message: "/proc/net/fib_trie unreadable: bound published ports not checked" },
    ];
  const out: Finding[] = [];
  for (const n of nets) {
    for (const p of n.publish!) {
      if (!p.hostAddr || trieHasLocal(trie, p.hostAddr)) continue;
      out.push({
        id: "publish",
        level: "warn",
        networks: [n.name],
        message: `${n.name}: publish ${p.proto}:${p.hostAddr}:${p.port} is bound to ${p.hostAddr}, which is not an address of this host: nothing reaches that port`,
        fix: `give the host ${p.hostAddr} (ip address add), or publish on another address or on all (${p.proto}:${p.port}=...) at ${ctx.config!.file}:${n.lines.publish ?? 0}`,
      });
    }
  }
  if (!out.length)
    out.push({ id: "publish", level: "ok", message: "every published port's address is one of this host's" });
  return out;
}
