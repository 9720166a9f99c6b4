import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStaticServer } from "./harness.ts";
import type { StaticServer } from "./harness.ts";

describe("bench static server (127.0.0.1)", () => {
  let server: StaticServer;
  beforeAll(async () => {
    server = await startStaticServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("serves the bench page and its TypeScript modules as plain JavaScript", async () => {
    expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const html = await (await fetch(server.benchPageUrl)).text();
    expect(html).toContain('src="/pages/bench-page.ts"');
    const res = await fetch(`${server.origin}/pages/pattern.ts`);
    expect(res.headers.get("content-type")).toContain("text/javascript");
    const js = await res.text();
    expect(js).toContain("export function fillPattern(target, seed, fileOffsetBytes)");
    expect(js).not.toMatch(/: Uint8Array|override name/);
  });

  it("serves nothing outside bench/pages, and no test files", async () => {
    expect((await fetch(`${server.origin}/pages/..%2Fharness.ts`)).status).toBe(404);
    expect((await fetch(`${server.origin}/pages/pattern.test.ts`)).status).toBe(404);
    expect((await fetch(`${server.origin}/package.json`)).status).toBe(404);
  });
});
