// ESLint's flat config: the recommended rules on the widget's and the report's sources (browser)
// and on the JS tests (Node). The bundle in src/uberjob/static/ is build output, not linted.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["src/uberjob/static/", "node_modules/", ".venv/", "benchmarks/"] },
  js.configs.recommended,
  {
    files: ["js/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.browser },
  },
  {
    files: ["tests/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.node, ...globals.browser },
    },
  },
  {
    files: ["*.mjs"],
    languageOptions: { sourceType: "module", globals: globals.node },
  },
];
