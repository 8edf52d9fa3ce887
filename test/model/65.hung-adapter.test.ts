// Issue 8 item 10: a device model frozen with SIGSTOP still has its register files mapped, so every
// register read succeeds; only the heartbeat stops (ra-spec §4, §17.7). The inventory (and the GRM's
// adapter list built from it) must report the adapters unhealthy within HEARTBEAT_HUNG_MS +
// HEARTBEAT_SAMPLE_MS, calls that need the model must fail instead of hanging, and after SIGCONT
// the adapters are healthy again.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEARTBEAT_HUNG_MS, HEARTBEAT_SAMPLE_MS } from '../../src/driver/heartbeat.js';
import { type Embedded, startEmbedded } from '../../src/modes/embedded.js';

const MiB = 1024 * 1024;
/** Polling granularity of this test and event-loop delay on a loaded machine. */
const SLACK_MS = 400;

describe('a frozen device model (SIGSTOP)', () => {
  let pool: Embedded;
  let stateDir: string;
  let pid: number;

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'hung-'));
    pool = await startEmbedded({
      adapters: 2,
      memoryBytes: 64 * MiB,
      stateDir,
      log: pino({ level: 'silent' }),
      reallocateEveryMs: 3_600_000,
    });
    pid = pool.model!.pid;
  });
  afterAll(async () => {
    if (pid) process.kill(pid, 'SIGCONT'); // never leave a stopped process behind
    await pool?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const healths = async () => (await pool.grm.listAdapters()).map((a) => a.health);

  /** Polls until every adapter has `health`; returns the ms it took, or fails after `limitMs`. */
  async function until(health: string, limitMs: number): Promise<number> {
    const started = performance.now();
    for (;;) {
      const all = await healths();
      const elapsedMs = performance.now() - started;
      if (all.every((h) => h === health)) return elapsedMs;
      if (elapsedMs > limitMs)
        throw new Error(`after ${Math.round(elapsedMs)} ms adapters are ${all.join(', ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('is reported unhealthy within the stated bound, refuses work without hanging, and recovers', async () => {
    expect(await healths()).toEqual(['healthy', 'healthy']);
    process.kill(pid, 'SIGSTOP');
    const boundMs = HEARTBEAT_HUNG_MS + HEARTBEAT_SAMPLE_MS;
    const tookMs = await until('unhealthy', boundMs + SLACK_MS);
    // not before the heartbeat could have been judged stopped
    expect(tookMs).toBeGreaterThanOrEqual(HEARTBEAT_HUNG_MS - HEARTBEAT_SAMPLE_MS);
    console.info(`SIGSTOP -> unhealthy after ${Math.round(tookMs)} ms (bound ${boundMs} ms)`);

    // work that needs the frozen model fails in bounded time rather than waiting for it
    const started = performance.now();
    await expect(
      pool.grm.allocate('alice', { resources: [{ kind: 'accelerator', function: 'sha256' }] }),
    ).rejects.toBeDefined();
    expect(performance.now() - started).toBeLessThan(5_000);

    process.kill(pid, 'SIGCONT');
    await until('healthy', 2_000);
  }, 30_000);
});
