// A uid as the allow lists name people: its user name and the groups it is in, asked of the host's user database
// (NSS, as `id` sees it: /etc/passwd, LDAP, ...) at each request, so a user added to a group is allowed at once.
import type { Exec } from "../../host/exec.js";

/** A caller: uid, user name (the uid as text when it has none) and groups (names and gids). */
export interface Who {
  uid: number;
  user: string;
  groups: { name: string; gid: number }[];
}

/** Who UID is: `id UID` parsed ("uid=1000(alice) gid=1000(alice) groups=1000(alice),24(cdrom)"); a uid the user
 *  database does not know has no name and only GID, its group of the connection. */
export function whoIs(exec: Exec, uid: number, gid: number): Who {
  const r = exec.tryRun("id", ["--", String(uid)]);
  const m = r.ok ? /^uid=(\d+)\(([^)]*)\)/.exec(r.stdout) : null;
  if (!m || Number(m[1]) !== uid) return { uid, user: String(uid), groups: [{ name: String(gid), gid }] };
  const groups = [...(/groups=(\S+)/.exec(r.stdout)?.[1] ?? "").matchAll(/(\d+)(?:\(([^)]*)\))?/g)].map((g) => ({
    gid: Number(g[1]),
    name: g[2] ?? g[1]!,
  }));
  return { uid, user: m[2]!, groups };
}
