import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// Unit tests sit beside the code (`*.test.ts[x]`) in every layer.
export default defineConfig({
  plugins: [react()],
  test: {
    include: ["{core,web,tracker,sim,bench,cli,scripts}/**/*.test.{ts,tsx}"],
    exclude: ["node_modules/**", "dist/**", ".reference/**"],
    setupFiles: ["./vitest.setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
