// Vitest global setup: build dist/ once so that tests run the programs as users get them.
import { execaSync } from "execa";
import { ROOT } from "./netns.js";

export default function setup(): void {
  execaSync("node", ["scripts/build.mjs"], { cwd: ROOT });
}
