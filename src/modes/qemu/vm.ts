// Launching one VM, following its serial console, and stopping it cleanly.
// The serial console goes to <logDir>/<vm>.serial.log as it arrives (kept; callers print the path
// when something fails). A VM stops cleanly when its guest powers off (the guest init does after its
// script); stop() asks QEMU to quit over QMP and kills it only if that does not work.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, writeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type GuestImage, QEMU_EXECUTABLE, qemuArgs, type VmLaunchPlan } from './command-line.js';

export const DEFAULT_CACHE_DIR = '/var/cache/rafabric-qemu';
const QMP_TIMEOUT_MS = 3_000;
/** util-linux's setpriv (Debian: always there), for --pdeathsig; without it QEMU is started bare. */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** The guest kernel, initramfs and modules that qemu/setup.sh put in the cache folder. */
export function findGuestImage(cacheDir = process.env.RAFABRIC_QEMU_CACHE ?? DEFAULT_CACHE_DIR): GuestImage {
  const hint = `run qemu/setup.sh first (as root; cache folder ${cacheDir})`;
  const boot = path.join(cacheDir, 'kernel', 'boot');
  const modules = path.join(cacheDir, 'kernel', 'lib', 'modules');
  const initrd = path.join(cacheDir, 'initramfs.cpio.gz');
  if (!existsSync(boot) || !existsSync(modules) || !existsSync(initrd))
    throw new Error(`no guest image: ${hint}`);
  const kernel = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  const versions = readdirSync(modules);
  if (!kernel || versions.length !== 1) throw new Error(`guest kernel incomplete in ${cacheDir}: ${hint}`);
  return { kernel: path.join(boot, kernel), initrd, modulesDir: modules };
}

export interface SerialLine {
  text: string;
  /** ms since the VM was started */
  atMs: number;
}

export class QemuVm {
  private readonly lines: SerialLine[] = [];
  private partial = '';
  private readonly waiters = new Set<() => void>();
  private exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;
  private readonly logFd: number;

  private constructor(
    readonly plan: VmLaunchPlan,
    readonly child: ChildProcess,
    readonly serialLogPath: string,
    readonly startedAtMs: number,
  ) {
    this.logFd = openSync(serialLogPath, 'w');
    const onData = (chunk: Buffer) => {
      writeSync(this.logFd, chunk);
      const text = this.partial + chunk.toString('utf8');
      const parts = text.split(/\r?\n/);
      this.partial = parts.pop() ?? '';
      const atMs = Date.now() - startedAtMs;
      for (const p of parts) this.lines.push({ text: p, atMs });
      this.wake();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) =>
      writeSync(this.logFd, Buffer.concat([Buffer.from('[qemu] '), chunk])),
    );
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        if (this.partial) this.lines.push({ text: this.partial, atMs: Date.now() - startedAtMs });
        this.partial = '';
        closeSync(this.logFd);
        this.wake();
        resolve(this.exitCode);
      });
    });
  }

  /** Starts QEMU for `plan`; the serial console goes to <logDir>/<vm name>.serial.log. */
  static start(plan: VmLaunchPlan, logDir: string): QemuVm {
    const logPath = path.join(logDir, `${plan.vm.name}.serial.log`);
    // Through setpriv --pdeathsig: a QEMU whose parent dies (a test runner killed by CI's timeout, a
    // serve --qemu killed with SIGKILL) dies with it instead of running on with its VM.
    const [file, args] = SETPRIV
      ? [SETPRIV, ['--pdeathsig', 'KILL', QEMU_EXECUTABLE, ...qemuArgs(plan)]]
      : [QEMU_EXECUTABLE, qemuArgs(plan)];
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const vm = new QemuVm(plan, child, logPath, Date.now());
    child.once('error', (err) => {
      vm.lines.push({
        text: `[qemu] cannot start ${QEMU_EXECUTABLE}: ${err.message} (run qemu/setup.sh)`,
        atMs: 0,
      });
      vm.wake();
    });
    return vm;
  }

  get name(): string {
    return this.plan.vm.name;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Every complete serial line so far. */
  get serial(): readonly SerialLine[] {
    return this.lines;
  }

  /** The last `n` serial lines, for error messages. */
  tail(n = 30): string {
    return this.lines
      .slice(-n)
      .map((l) => l.text)
      .join('\n');
  }

  /** Resolves with the first serial line matching `re`; rejects if QEMU exits or time runs out. */
  async waitForLine(re: RegExp, timeoutMs: number): Promise<SerialLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find((l) => re.test(l.text));
      if (hit) return hit;
      if (!this.running)
        throw new Error(
          `${this.name}: QEMU exited (${this.exitCode}) before ${re}${this.exitCode === 127 ? ` (${QEMU_EXECUTABLE} could not be executed: run qemu/setup.sh)` : ''}; serial log ${this.serialLogPath}`,
        );
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`${this.name}: no ${re} within ${timeoutMs} ms; serial log ${this.serialLogPath}`);
      await this.nextEvent(left);
    }
  }

  /** Resolves with QEMU's exit code once it exits; rejects after timeoutMs (QEMU keeps running). */
  async waitForExit(timeoutMs: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`${this.name}: still running after ${timeoutMs} ms; serial log ${this.serialLogPath}`),
          ),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops the VM: waits `graceMs` for the guest to power off by itself, then asks QEMU to quit over
   * QMP, then kills it. Returns how it ended.
   */
  async stop(graceMs = 0): Promise<'powered-off' | 'quit' | 'killed'> {
    if (!this.running) return 'powered-off';
    if (graceMs > 0) {
      try {
        await this.waitForExit(graceMs);
        return 'powered-off';
      } catch {
        // not yet: ask QEMU
      }
    }
    try {
      await qmpCommand(this.plan.qmpSocket, 'quit');
      await this.waitForExit(QMP_TIMEOUT_MS);
      return 'quit';
    } catch {
      this.child.kill('SIGKILL');
      await this.exited;
      return 'killed';
    }
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private nextEvent(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }
}

/** Sends one QMP command (after the capabilities handshake) and resolves with its `return`. */
export function qmpCommand(socketPath: string, command: string, args?: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(socketPath);
    let buffer = '';
    let stage: 'greeting' | 'capabilities' | 'command' = 'greeting';
    const timer = setTimeout(
      () => finish(new Error(`QMP ${command}: no answer within ${QMP_TIMEOUT_MS} ms`)),
      QMP_TIMEOUT_MS,
    );
    const finish = (err: Error | null, value?: unknown) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const send = (msg: object) => sock.write(`${JSON.stringify(msg)}\n`);
    sock.on('error', (err) => finish(new Error(`QMP ${socketPath}: ${err.message}`)));
    sock.on('close', () => stage === 'command' && command === 'quit' && finish(null, {}));
    sock.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (;;) {
        const nl = buffer.indexOf('\n');
        if (nl < 0) return;
        const msg = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
        buffer = buffer.slice(nl + 1);
        if ('event' in msg) continue;
        if ('error' in msg) return finish(new Error(`QMP ${command}: ${JSON.stringify(msg.error)}`));
        if (stage === 'greeting') {
          stage = 'capabilities';
          send({ execute: 'qmp_capabilities' });
        } else if (stage === 'capabilities') {
          stage = 'command';
          send(args ? { execute: command, arguments: args } : { execute: command });
        } else {
          return finish(null, msg.return);
        }
      }
    });
  });
}
