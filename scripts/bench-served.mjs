// A `kvmnet watch` for the benchmarks of hooks it serves (bench.mjs, bench-burst.mjs): started with ARGV (the
// whole command, `ip netns exec NS ... watch`) and taken as ready once it waits for changes; stopped by SIGTERM.
import { spawn } from "node:child_process";

/** Start ARGV (a `kvmnet watch`) with ENV; resolves once it waits for changes (and serves hooks). */
export async function startWatch(argv, env) {
  const child = spawn(argv[0], argv.slice(1), { env, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  await new Promise((ok, fail) => {
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("waiting for changes")) ok();
    });
    child.once("exit", (code) => fail(new Error(`kvmnet watch exited (${code}): ${out}`)));
  });
  return child;
}

/** Stop CHILD (SIGTERM) and wait until it has exited. */
export async function stopWatch(child) {
  const gone = new Promise((ok) => child.once("exit", ok));
  child.kill("SIGTERM");
  await gone;
}
