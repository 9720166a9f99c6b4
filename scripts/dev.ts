// `npm run dev`: the tracker on TRACKER_PORT (default 8001) plus Vite's dev
// server on PORT (default 8000), which proxies /announce and the JSON endpoints.
import { spawn, type ChildProcess } from "node:child_process";

const trackerPort = process.env.TRACKER_PORT ?? "8001";
const children: ChildProcess[] = [
  spawn("npx", ["tsx", "watch", "tracker/main.ts"], { stdio: "inherit", env: { ...process.env, PORT: trackerPort, HOST: "127.0.0.1" } }),
  spawn("npx", ["vite"], { stdio: "inherit", env: { ...process.env, TRACKER_PORT: trackerPort } }),
];
const stop = (): void => {
  for (const child of children) if (child.pid !== undefined && child.exitCode === null) child.kill("SIGTERM");
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
for (const child of children) child.on("exit", (code) => {
  stop();
  process.exitCode = code ?? 0;
});
