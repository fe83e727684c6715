// kvmnet's version: package.json's, put in by the build (scripts/build.mjs and scripts/binaries.mjs give esbuild a
// `define` for KVMNET_VERSION), so that no program reads a file to know it.
declare const KVMNET_VERSION: string;
declare const KVMNET_BUILD: string;

/** The version of this build, e.g. "0.3.0"; "unbuilt" when run from the sources (unit tests, tsx scripts). */
export const VERSION: string = typeof KVMNET_VERSION === "string" ? KVMNET_VERSION : "unbuilt";

/** Which build this is: a hash of the sources it was built from (scripts/version.mjs), the same in every program of
 *  one build; "unbuilt" when run from the sources. A hook is served only by a watch of the same build. */
export const BUILD: string = typeof KVMNET_BUILD === "string" ? KVMNET_BUILD : "unbuilt";

/** The line `--version` prints for PROGRAM: `kvmnet 0.3.0`, a hook's `qemu-natup (kvmnet) 0.3.0`. */
export function versionLine(program: string): string {
  return program === "kvmnet" ? `kvmnet ${VERSION}` : `${program} (kvmnet) ${VERSION}`;
}
