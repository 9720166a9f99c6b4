// Lint rules that keep the layers honest: core/ is the pure engine and may not
// reach for the DOM, Node, React, ws or IndexedDB (see shared/design/style.md).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";

const forbiddenInCore = [
  { name: "react", message: "core/ is the engine: no React." },
  { name: "react-dom", message: "core/ is the engine: no React." },
  { name: "ws", message: "core/ does no I/O: sockets live in tracker/ or web/ adapters." },
  { name: "idb-keyval", message: "core/ does no I/O: storage lives in web/ adapters." },
  { name: "simple-peer", message: "core/ does no I/O: WebRTC lives in web/ adapters." },
  { name: "zustand", message: "core/ is the engine: UI state lives in web/." },
];

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".reference/**", "test-results/**", "playwright-report/**", "bench/results/**", "public/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-explicit-any": "error",
    },
  },
  {
    files: ["web/**/*.{ts,tsx}"],
    plugins: { "react-hooks": reactHooks },
    rules: {
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "warn",
    },
  },
  {
    files: ["core/**/*.ts"],
    languageOptions: { globals: { ...globals["shared-node-browser"] } },
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: forbiddenInCore,
          patterns: [
            { group: ["node:*"], message: "core/ runs in browsers too: no Node built-ins." },
            { group: ["fs", "path", "crypto", "http", "https", "net", "os", "stream", "events", "buffer", "worker_threads", "child_process"], message: "core/ runs in browsers too: no Node built-ins." },
            { group: ["react*", "idb-keyval", "ws", "redis", "@roamhq/*"], message: "core/ is the pure engine." },
            { group: ["../web/*", "../tracker/*", "../../web/*", "../../tracker/*"], message: "core/ may not import adapters." },
          ],
        },
      ],
      "no-restricted-globals": [
        "error",
        { name: "window", message: "core/ has no DOM." },
        { name: "document", message: "core/ has no DOM." },
        { name: "localStorage", message: "core/ does no I/O." },
        { name: "indexedDB", message: "core/ does no I/O." },
        { name: "process", message: "core/ runs in browsers too." },
        { name: "Buffer", message: "core/ uses Uint8Array, not Buffer." },
        { name: "setTimeout", message: "core/ takes its clock as input." },
        { name: "setInterval", message: "core/ takes its clock as input." },
        { name: "WebSocket", message: "core/ does no I/O." },
        { name: "fetch", message: "core/ does no I/O." },
      ],
      "no-restricted-properties": [
        "error",
        { object: "Math", property: "random", message: "core/ takes a seeded random generator as input." },
        { object: "Date", property: "now", message: "core/ takes its clock as input." },
      ],
    },
  },
);
