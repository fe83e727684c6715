// Words for the errno codes a file or socket operation fails with: users read "does not exist", not ENOENT.

const WORDS: Record<string, string> = {
  ENOENT: "does not exist",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "is a directory",
  EEXIST: "already exists",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "the name is too long",
  ENOSPC: "no space left on the device",
  EROFS: "the file system is read-only",
  EIO: "input/output error",
  EBUSY: "busy",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
  EADDRINUSE: "the address is already in use",
  EADDRNOTAVAIL: "the address is not one of this host's",
};

/** What went wrong in E, in words: its errno code mapped (the code itself only when it is not a common one). */
export function errnoWords(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === "string" && Object.hasOwn(WORDS, code)) return WORDS[code]!;
  if (e instanceof Error) {
    // Node's "ENOSPC: no space left on device, write": the words, without the code or the syscall.
    const m = /^[A-Z0-9]+: (.*?)(?:, \w+(?: '.*')?)?$/.exec(e.message);
    return m ? m[1]! : e.message;
  }
  return String(e);
}

/** E as a sentence: the path it concerns (when it has one) and what went wrong, in words. */
export function errnoMessage(e: unknown): string {
  const path = (e as NodeJS.ErrnoException | undefined)?.path;
  return path ? `${path}: ${errnoWords(e)}` : errnoWords(e);
}

/** Any caught error as a sentence: an errno error in words with its path, anything else by its message. */
export function errorText(e: unknown): string {
  if (
    typeof (e as NodeJS.ErrnoException | undefined)?.code === "string" &&
    /^E[A-Z0-9]+$/.test((e as NodeJS.ErrnoException).code!)
  )
    return errnoMessage(e);
  return e instanceof Error ? e.message : String(e);
}
