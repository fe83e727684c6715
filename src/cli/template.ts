// The kvmnet.conf template, embedded at build time (esbuild loads *.conf as text), so a single executable
// needs no file beside it. Tests that import this through vitest replace it with vi.mock.
import text from "../../etc-templates/kvmnet.conf";

/** Text of etc-templates/kvmnet.conf as it was when the program was built. */
export const CONF_TEMPLATE: string = text;
