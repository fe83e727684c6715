// The admin CLI `kvmnet` (status, up, down, check, plan, doctor, install). Placeholder until its issue lands.

/** Run `kvmnet ARGS`; returns the exit code. */
export async function runCli(args: string[], _env: NodeJS.ProcessEnv, _suffixNet?: string): Promise<number> {
  process.stderr.write(`kvmnet: ${args[0] ?? ""}: not implemented yet\n`);
  return 2;
}
