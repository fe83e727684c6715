// Files ending in .conf are bundled as text (scripts/build.mjs and scripts/binaries.mjs set the loader).
declare module "*.conf" {
  /** The file's text. */
  const text: string;
  export default text;
}
