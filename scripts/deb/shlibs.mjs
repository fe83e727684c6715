// The shared-library dependencies of the single executable (it is a copy of node): found from the symbol
// versions the binary asks for, as dpkg-shlibdeps would, without needing debian/ or binutils.
import { readFileSync } from "node:fs";

// GLIBCXX_3.4.N symbol version → the GCC (so libstdc++6) release that first provided it.
const GLIBCXX_GCC = {
  19: 4.9,
  20: 5,
  21: 5,
  22: 6,
  23: 7,
  24: 8,
  25: 9,
  26: 9,
  27: 9,
  28: 10,
  29: 11,
  30: 12,
  31: 13,
  32: 13,
  33: 14,
};

/** Debian Depends entries for the libraries FILE (an x86-64 or arm64 Linux node binary) needs. */
export function libraryDepends(file) {
  const text = readFileSync(file).toString("latin1");
  const max = (re) =>
    [...text.matchAll(re)]
      .map((m) => m.slice(1).map(Number))
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .pop();
  const glibc = max(/GLIBC_(2)\.(\d+)\0/g);
  const cxx = max(/GLIBCXX_(3\.4)\.(\d+)\0/g);
  const deps = [glibc ? `libc6 (>= 2.${glibc[1]})` : "libc6"];
  if (cxx) deps.push(`libstdc++6 (>= ${GLIBCXX_GCC[cxx[1]] ?? 14})`);
  if (/GCC_\d+\.\d+(\.\d+)?\0/.test(text)) deps.push("libgcc-s1 | libgcc1");
  return deps;
}
