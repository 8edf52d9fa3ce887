// The processes `rafabric cluster up` leaves running: started detached (their own session, output to
// log files), recorded by pid and start time, and stopped by `cluster down` — SIGTERM, then SIGKILL
// after a bound. The start time (from /proc) guards against a reused pid: a process that is not the
// one recorded is never signalled.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface RecordedProcess {
  pid: number;
  /** /proc/PID/stat field 22 (clock ticks since boot): with the pid, names one process. */
  startTicks: number;
}

/** The start time of `pid`, or undefined when no such process runs. */
export function startTicksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    if (state === 'Z' || state === 'X') return undefined; // a zombie has ended; only its parent's wait is missing
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** The recorded process is still the one running under its pid. */
export function isRunning(p: RecordedProcess): boolean {
  return startTicksOf(p.pid) === p.startTicks;
}

export function record(pid: number): RecordedProcess {
  const startTicks = startTicksOf(pid);
  if (startTicks === undefined) throw new Error(`process ${pid} ended as it started`);
  return { pid, startTicks };
}

export interface Launched extends RecordedProcess {
  stdoutFile: string;
  stderrFile: string;
}

/**
 * Starts `command args` in its own session with stdout and stderr in logsDir/NAME.out and NAME.err,
 * and lets it run on after this process exits.
 */
export function launchDetached(o: {
  name: string;
  command: string;
  args: string[];
  logsDir: string;
  env?: NodeJS.ProcessEnv;
}): Launched {
  const stdoutFile = path.join(o.logsDir, `${o.name}.out`);
  const stderrFile = path.join(o.logsDir, `${o.name}.err`);
  const out = openSync(stdoutFile, 'w');
  const err = openSync(stderrFile, 'w');
  try {
    const child = spawn(o.command, o.args, {
      detached: true,
      stdio: ['ignore', out, err],
      env: o.env ?? process.env,
    });
    if (child.pid === undefined) throw new Error(`${o.name}: could not start ${o.command}`);
    child.unref();
    return { ...record(child.pid), stdoutFile, stderrFile };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

const tail = (file: string) => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '';
  }
};

/** Waits until the process printed a line matching `pattern`; fails if it exits or time runs out. */
export async function waitForLine(
  p: Launched,
  what: string,
  pattern: RegExp,
  timeoutMs: number,
): Promise<RegExpExecArray> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(readFileSync(p.stdoutFile, 'utf8'));
    if (m) return m;
    if (!isRunning(p))
      throw new Error(`${what} exited before it was ready (log ${p.stderrFile}): ${tail(p.stderrFile)}`);
    if (Date.now() > until)
      throw new Error(`${what} not ready after ${timeoutMs} ms (log ${p.stderrFile}): ${tail(p.stderrFile)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Stops every process: SIGTERM to all at once, then SIGKILL to those still running after
 * `boundMs`. Resolves when none of them runs; returns the ones that needed SIGKILL.
 */
export async function stopAll(processes: readonly RecordedProcess[], boundMs: number): Promise<number[]> {
  const running = processes.filter(isRunning);
  for (const p of running) signal(p, 'SIGTERM');
  const until = Date.now() + boundMs;
  while (running.some(isRunning) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  const killed = running.filter(isRunning);
  for (const p of killed) signal(p, 'SIGKILL');
  while (killed.some(isRunning)) await new Promise((r) => setTimeout(r, 20));
  return killed.map((p) => p.pid);
}

function signal(p: RecordedProcess, name: NodeJS.Signals): void {
  try {
    process.kill(p.pid, name);
  } catch {
    // ended meanwhile
  }
}
