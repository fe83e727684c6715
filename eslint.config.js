// The linter's rules (npm run lint; scripts/test.sh runs it in CI). Formatting is prettier's, not the linter's.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "release/", "node_modules/", ".cache/", "test/golden/", "test/vm/init/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: globals.node } },
  {
    rules: {
      // Names kept for their place in a destructuring (`const { network: _n, ...seen }`).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      // kvmnet matches control characters on purpose: NUL-separated /proc/PID/cmdline, config values that must
      // not hold them, terminal colour escapes that must not reach a pipe.
      "no-control-regex": "off",
      // Expected lines of aligned columns (`kvmnet status`) are written as they are printed, spaces and all.
      "no-regex-spaces": "off",
    },
  },
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise nobody awaits fails silently and out of order: the test helpers are to become asynchronous,
      // and a call left without `await` must show up here, not as a test that passes before its work ran.
      "@typescript-eslint/no-floating-promises": "error",
    },
  },
  {
    // Validation is a table of small validators (src/config/network-keys.ts): one that grows past 40 lines is
    // doing the work of several keys, and is to be split before it becomes the next 155-line validateNetwork.
    files: ["src/config/**/*.ts"],
    rules: { "max-lines-per-function": ["error", { max: 40, skipBlankLines: true, skipComments: true }] },
  },
);
