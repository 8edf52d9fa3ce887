// `rafabric serve` as a real child process (bin/rafabric.js, built dist/): start it, wait for its
// "listening" line, stop it with a signal, and stop the device model a --state folder keeps running.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(root, 'bin/rafabric.js');

export interface Served {
  child: ChildProcess;
  url: string;
  /** The "listening on ... (N differences reconciled)" line. */
  banner: string;
  stderr: () => string;
}

/** Starts serve with `args` (plus --port 0 and RAFABRIC_LOG=warn unless given); resolves when listening. */
export function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RAFABRIC_LOG: 'warn', ...env },
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /^rafabric: listening on (http:\/\/\S+).*$/m.exec(out);
      if (m) resolve({ child, url: m[1]!, banner: m[0], stderr: () => err });
    });
    child.once('exit', (code, signal) => reject(new Error(`serve exited ${code ?? signal}: ${err}`)));
  });
}

/** Runs serve expecting it to fail at startup: its exit code and stderr (rejects if it is still up). */
export function serveFails(
  args: string[],
  timeoutMs = 20_000,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RAFABRIC_LOG: 'warn' },
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not exit within ${timeoutMs} ms after a fatal error: ${err}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr: err });
    });
  });
}

/** Sends `signal` and waits for the process to end. */
export async function stop(s: Served, signal: NodeJS.Signals): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill(signal);
  await exited;
}

/** Stops the device model a `serve --state DIR` left running (its pid is in DIR/model/ra-model.pid). */
export function stopModel(stateDir: string): void {
  try {
    const pid = Number(readFileSync(path.join(stateDir, 'model', 'ra-model.pid'), 'utf8'));
    if (Number.isInteger(pid) && pid > 1) process.kill(pid, 'SIGKILL');
  } catch {
    // no model, or already gone
  }
}

export function client(url: string, token: string) {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  return async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${url}${route}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };
}
