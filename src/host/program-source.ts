// Which file `kvmnet install` points each program name at: the running single executable, or under node
// (as installed by npm) that name's own script.
import { existsSync, realpathSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import * as sea from "node:sea";

/** The file program NAME should run, for the kvmnet that is running now. */
export function programSource(argv: readonly string[] = process.argv): (name: string) => string {
  // isSea appeared in Node 20.12; an older Node cannot be running a kvmnet single executable anyway.
  if (typeof sea.isSea === "function" && sea.isSea()) return () => process.execPath;
  // The script itself rather than npm's bin link to it, so the hooks do not depend on a chain of links.
  const self = realpathSync(argv[1] ?? process.execPath);
  // dist/ holds one bundle per program, and a hook's own leaves the admin CLI out, so it starts faster.
  return (name) => {
    const own = join(dirname(self), name + extname(self));
    return existsSync(own) ? own : self;
  };
}
