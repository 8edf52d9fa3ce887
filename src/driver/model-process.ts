// Starting and stopping the embedded device model (native/model, the `ra-model` executable):
// the embedded mode's "power on". Used by `rafabric model`, `rafabric serve` and the tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Adapter } from './adapter.js';
import { modelExecutable } from './native.js';

export interface ModelOptions {
  adapters: number;
  /** Folder for sockets, register files and memory files; a fresh temporary one by default. */
  dir?: string;
  memoryBytes?: number;
  slots?: number;
  computeUnits?: number;
  contexts?: number;
  configBytesPerSec?: number;
  slotBytes?: number;
  /**
   * Fabric directory shared with other models (ra-spec §8.9): this model's adapters claim ports in
   * it and reach the memory slices of the other models' adapters by DMA.
   */
  fabricDir?: string;
  /** With `fabricDir`: the first fabric port (ports base..base+adapters-1); else the lowest free ones. */
  fabricBase?: number;
  /** Extra ra-model arguments. */
  extraArgs?: string[];
  /** Stop the model when this process dies (tests, serve). */
  dieWithParent?: boolean;
  readyTimeoutMs?: number;
}

export class ModelProcess {
  private exited: Promise<number | null>;
  private stderr = '';
  private fabricPorts: readonly number[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    readonly adapters: number,
    private readonly ownsDir: boolean,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))),
    );
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
  }

  /** URI of adapter i. */
  uri(i: number): string {
    return `shm://${path.join(this.dir, `ra${i}.sock`)}`;
  }

  /** Fabric port of each adapter (its REG_FABRIC_ID, ra-spec §8.9), from the model's ready line. */
  get ports(): readonly number[] {
    return this.fabricPorts;
  }

  get uris(): string[] {
    return Array.from({ length: this.adapters }, (_, i) => this.uri(i));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get lastStderr(): string {
    return this.stderr;
  }

  static async start(o: ModelOptions): Promise<ModelProcess> {
    if (!existsSync(modelExecutable))
      throw new Error(`device model not built (${modelExecutable}): run \`npm run build\``);
    const ownsDir = !o.dir;
    const base = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
    const dir = o.dir ?? mkdtempSync(path.join(base, 'rafabric-'));
    const args = ['--adapters', String(o.adapters), '--dir', dir];
    const opt = (flag: string, v: number | undefined) => v !== undefined && args.push(flag, String(v));
    opt('--memory', o.memoryBytes);
    opt('--slots', o.slots);
    opt('--compute-units', o.computeUnits);
    opt('--contexts', o.contexts);
    opt('--config-rate', o.configBytesPerSec);
    opt('--slot-bytes', o.slotBytes);
    if (o.fabricDir !== undefined) args.push('--fabric', o.fabricDir);
    opt('--fabric-base', o.fabricBase);
    args.push(...(o.extraArgs ?? []));
    const env = { ...process.env, ...(o.dieWithParent === false ? {} : { RA_MODEL_DIE_WITH_PARENT: '1' }) };
    // A model that must outlive us (serve --state) gets its own process group: a Ctrl-C or kill of the
    // GRM's group does not take the adapters (and the tenants' slices) down with it.
    const child = spawn(modelExecutable, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
      detached: o.dieWithParent === false,
    });
    const model = new ModelProcess(child, dir, o.adapters, ownsDir);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () =>
          reject(new Error(`device model not ready after ${o.readyTimeoutMs ?? 10_000} ms: ${model.stderr}`)),
        o.readyTimeoutMs ?? 10_000,
      );
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = /ready .*ports=([0-9,]+)\n/.exec(out);
        if (line) {
          clearTimeout(timer);
          model.fabricPorts = line[1]!.split(',').map(Number);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`device model exited with ${code} before it was ready: ${model.stderr.trim()}`));
      });
    });
    return model;
  }

  /** Waits for the process to end (after a fault, a kill or stop()). */
  waitExit(): Promise<number | null> {
    return this.exited;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.kill(signal);
  }

  /**
   * Leaves the model running after this process ends (a graceful `serve --state` stop): drops our pipes
   * and handle so they do not keep this process alive. The model ignores SIGPIPE (native/model/main.c),
   * so its later output to the closed pipes is lost, not fatal.
   */
  leaveRunning(): void {
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    this.child.unref();
  }

  /** SIGTERM, wait, and remove the folder if we made it. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The adapter URIs of a model still serving `dir` (left running by an earlier GRM or agent after a
 * crash or a graceful stop that kept it), or undefined when none answers: reusing it keeps every
 * slice and byte its adapters hold.
 */
export function runningModelUris(dir: string, adapters: number): string[] | undefined {
  const uris = Array.from({ length: adapters }, (_, i) => `shm://${path.join(dir, `ra${i}.sock`)}`);
  if (!existsSync(path.join(dir, 'ra0.sock'))) return undefined;
  try {
    for (const u of uris) Adapter.open(u).close();
    return uris;
  } catch {
    return undefined;
  }
}
