// CPU time used by the browser this benchmark launched: every Chromium process
// below this Node process (browser, renderers, network service, GPU, ...), read
// from /proc. On a machine with few cores a transfer between two pages is
// CPU-bound, so "CPU seconds for the same bytes" compares implementations far
// more steadily than MB/s when other jobs share the machine.
//
// A process's own time (utime + stime) plus the time of its children it has
// reaped (cutime + cstime): a renderer that exits during a measurement then
// still counts, through its parent (the zygote or the browser process). Take
// both readings while the pages of the measurement are open, so that the
// processes alive at the first reading are still alive at the second.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  /** utime + stime + cutime + cstime, in clock ticks. */
  readonly ticks: number;
}

/** Parses /proc/<pid>/stat (the command name may hold spaces and parentheses). */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${JSON.stringify(text.slice(0, 80))}`);
  const pid = Number(text.slice(0, open).trim());
  const fields = text.slice(close + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state); ppid is field 4; utime..cstime are fields 14-17.
  const num = (field: number): number => Number(fields[field - 3]);
  const ticks = num(14) + num(15) + num(16) + num(17);
  if (!Number.isInteger(pid) || !Number.isFinite(ticks)) throw new Error(`unreadable /proc stat line: ${JSON.stringify(text.slice(0, 80))}`);
  return { pid, ppid: num(4), comm: text.slice(open + 1, close), ticks };
}

/** The processes below `root` (not `root` itself) whose command name looks like Chromium's. */
export function browserDescendants(stats: readonly ProcStat[], root: number): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) {
    const list = children.get(s.ppid);
    if (list === undefined) children.set(s.ppid, [s]);
    else list.push(s);
  }
  const out: ProcStat[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (/chrom|headless_shell/i.test(s.comm)) out.push(s);
    stack.push(...(children.get(s.pid) ?? []));
  }
  return out;
}

let ticksPerSecond: number | null = null;
function clockTicksPerSecond(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds used so far by the Chromium processes below this process; null where /proc is not there (not Linux). */
export function browserCpuSeconds(root = process.pid): number | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  const stats: ProcStat[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      stats.push(parseProcStat(readFileSync(`/proc/${name}/stat`, "utf8")));
    } catch {
      // The process ended while we listed: its time is in its parent's cutime now.
    }
  }
  const ticks = browserDescendants(stats, root).reduce((sum, s) => sum + s.ticks, 0);
  return ticks / clockTicksPerSecond();
}

/** Measures browser CPU between start() and stop(); stop() gives undefined where it cannot be read. */
export function browserCpuMeter(): { start(): void; stop(): number | undefined } {
  let from: number | null = null;
  return {
    start() {
      from = browserCpuSeconds();
    },
    stop() {
      const to = browserCpuSeconds();
      return from === null || to === null ? undefined : Math.max(0, to - from);
    },
  };
}
