#!/usr/bin/env node
// `swarmdrop` command: runs cli/main.ts through tsx's loader (the project ships TypeScript sources).
import { register } from "tsx/esm/api";

register();
const { runFromProcess } = await import("./main.ts");
await runFromProcess();
