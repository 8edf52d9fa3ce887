// GET /ui in a real browser: headless Chromium (Debian's chromium package) driven by playwright-core
// against a real `rafabric serve`. Allocations are made and released through the API; the page must
// show each change within a second, draw the slices where the adapters' registers say they are, and
// show each tenant only what it may see. A screenshot is saved to test-artifacts/ui.png.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSliceTables } from '../grm/helpers.js';
import { client, type Served, serve, stop, stopModel } from '../helpers/serve.js';

const root = path.resolve(import.meta.dirname, '../..');
const CHROMIUM = process.env.RAFABRIC_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(root, 'test-artifacts');
const ADAPTERS = 2;
const MiB = 2 ** 20;
const TOKENS = { alice: 'alice-ui-token', bob: 'bob-ui-token-2', ops: 'ops-ui-token-3' };
/** The bound: the page shows a change within a second of the API's answer. */
const WITHIN_MS = 1000;

describe('GET /ui in headless Chromium', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ui-browser-'));
  const state = path.join(dir, 'state');
  let served: Served | undefined;
  let browser: Browser | undefined;
  const api = (tenant: keyof typeof TOKENS) => client(served!.url, TOKENS[tenant]);

  beforeAll(async () => {
    // Not a skip: without the browser this test cannot say anything, and CI must say so.
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `headless Chromium not found at ${CHROMIUM}: install Debian's package (apt-get install -y chromium; .ci/run does) or set RAFABRIC_CHROMIUM to its executable`,
      );
    }
    served = await serve([
      '--emulate',
      String(ADAPTERS),
      '--memory',
      '256M',
      '--state',
      state,
      '--stop-model',
      '--tokens',
      Object.entries(TOKENS)
        .map(([tenant, token]) => `${tenant}=${token}`)
        .join(','),
      '--operators',
      'ops',
    ]);
    // --no-sandbox: tests run as root in CI, where Chromium's sandbox refuses to start.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    if (served) await stop(served, 'SIGTERM');
    stopModel(state);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh tab signed in as `tenant`, showing the pool. */
  async function open(tenant: keyof typeof TOKENS): Promise<Page> {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${served!.url}/ui`);
    await page.locator('#login').waitFor({ state: 'visible' });
    await page.fill('#token', TOKENS[tenant]);
    await page.click('#login button[type=submit]');
    await page
      .locator('[data-adapter]')
      .nth(ADAPTERS - 1)
      .waitFor();
    return page;
  }

  /** ms from now until `selector` is in the page (attached) or gone (detached); fails past WITHIN_MS. */
  async function msUntil(page: Page, selector: string, state: 'attached' | 'detached'): Promise<number> {
    const started = performance.now();
    await page.locator(selector).first().waitFor({ state, timeout: WITHIN_MS });
    return performance.now() - started;
  }

  it('asks for a token, refuses a wrong one with a message, then shows every adapter', async () => {
    const page = await browser!.newPage();
    await page.goto(`${served!.url}/ui`);
    await page.fill('#token', 'not-a-valid-token');
    await page.click('#login button[type=submit]');
    await expect.poll(() => page.textContent('#login-error')).toMatch(/did not accept this token/);
    expect(await page.isVisible('#main')).toBe(false);
    await page.fill('#token', TOKENS.alice);
    await page.click('#login button[type=submit]');
    await page
      .locator('[data-adapter]')
      .nth(ADAPTERS - 1)
      .waitFor();
    expect(await page.textContent('#viewer')).toBe('alice (tenant view)');
    expect(await page.locator('[data-adapter]').count()).toBe(ADAPTERS);
    await page.close();
  });

  it('shows an allocation within a second where the registers place it, and its release within a second', async () => {
    const page = await open('alice');
    const created = await api('alice')('POST', '/v1/allocations', {
      resources: [
        { kind: 'memory', bytes: 24 * MiB },
        { kind: 'compute', units: 3 },
        { kind: 'accelerator', function: 'sha256' },
      ],
    });
    expect(created.status).toBe(201);
    const id = String(created.body!.id);
    const shownMs = await msUntil(page, `rect[data-allocation="${id}"]`, 'attached');
    await page.locator(`#allocations tr[data-id="${id}"]`).waitFor({ timeout: WITHIN_MS });
    await page
      .locator(`#events li[data-kind="allocated"][data-allocation="${id}"]`)
      .waitFor({ timeout: WITHIN_MS });

    // The bars against the registers: every slice in use is drawn at its base and length, as own.
    const drawn = await page.$$eval(`rect[data-allocation="${id}"]`, (rects) =>
      rects.map((r) => ({
        adapter: r.closest('[data-adapter]')!.getAttribute('data-adapter'),
        kind: r.getAttribute('data-kind'),
        base: Number(r.getAttribute('data-base')),
        length: Number(r.getAttribute('data-length')),
        owner: r.getAttribute('data-owner'),
      })),
    );
    const registers = readSliceTables(path.join(state, 'model'), ADAPTERS);
    expect(registers.length).toBe(3);
    const key = (s: { adapter: number; kind: string | null; base: number; length: number }) =>
      `ra${s.adapter} ${s.kind} ${s.base}+${s.length}`;
    const drawnKeys = drawn.map((d) => key({ ...d, adapter: Number(/ra(\d+)$/.exec(d.adapter!)![1]) }));
    expect(drawnKeys.sort()).toEqual(registers.map(key).sort());
    expect(drawn.every((d) => d.owner === 'own')).toBe(true);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-tenant.png'), fullPage: true });

    expect((await api('alice')('DELETE', `/v1/allocations/${id}`)).status).toBe(204);
    const clearedMs = await msUntil(page, `rect[data-allocation="${id}"]`, 'detached');
    await page.locator(`#allocations tr[data-id="${id}"]`).waitFor({ state: 'detached', timeout: WITHIN_MS });
    await page
      .locator(`#events li[data-kind="released"][data-allocation="${id}"]`)
      .waitFor({ timeout: WITHIN_MS });
    expect(readSliceTables(path.join(state, 'model'), ADAPTERS)).toEqual([]);
    console.log(
      `ui: allocation shown ${shownMs.toFixed(0)} ms after the API answered, release ${clearedMs.toFixed(0)} ms`,
    );
    await page.close();
  });

  it("shows a tenant others' slices as other (no id, no tenant), and an operator every allocation with its tenant", async () => {
    const bobPage = await open('bob');
    const opsPage = await open('ops');
    const alice = await api('alice')('POST', '/v1/allocations', {
      resources: [
        { kind: 'memory', bytes: 40 * MiB },
        { kind: 'accelerator', function: 'aes-256-gcm' },
      ],
    });
    const bob = await api('bob')('POST', '/v1/allocations', {
      resources: [
        { kind: 'memory', bytes: 64 * MiB },
        { kind: 'compute', units: 5 },
      ],
    });
    expect([alice.status, bob.status]).toEqual([201, 201]);
    const aliceId = String(alice.body!.id);
    const bobId = String(bob.body!.id);

    await msUntil(bobPage, `rect[data-allocation="${bobId}"]`, 'attached');
    await bobPage.locator('rect[data-owner="other"]').nth(1).waitFor({ timeout: WITHIN_MS });
    const others = await bobPage.$$eval('rect[data-owner="other"]', (rects) =>
      rects.map((r) => r.getAttribute('data-allocation')),
    );
    expect(others).toEqual([null, null]); // alice's memory and context slices, without their id
    const bobText = await bobPage.textContent('body');
    expect(bobText).not.toContain(aliceId);
    expect(bobText).not.toContain('alice');
    expect(await bobPage.locator('#allocations tbody tr').count()).toBe(1);

    await msUntil(opsPage, `rect[data-allocation="${aliceId}"]`, 'attached');
    await msUntil(opsPage, `rect[data-allocation="${bobId}"]`, 'attached');
    expect(await opsPage.textContent('#viewer')).toBe('ops (operator view)');
    const fills = await opsPage.$$eval('rect[data-owner="allocation"]', (rects) =>
      rects.map((r) => `${r.getAttribute('data-allocation')} ${r.getAttribute('fill')}`),
    );
    expect(fills).toHaveLength(4);
    expect(new Set(fills).size).toBe(2); // one colour per allocation
    expect(await opsPage.textContent(`#allocations tr[data-id="${aliceId}"]`)).toContain('alice');
    expect(await opsPage.textContent(`#allocations tr[data-id="${bobId}"]`)).toContain('bob');

    // Some work, so that the sparklines have something to show in the screenshot.
    for (let i = 0; i < 2; i++) {
      const job = await api('alice')('POST', `/v1/allocations/${aliceId}/jobs`, {
        function: 'aes-256-gcm',
        params: { key: '11'.repeat(32), iv: '22'.repeat(12) },
        input: Buffer.alloc(MiB, i).toString('base64'),
      });
      expect(job.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
    await opsPage.waitForTimeout(1200);
    mkdirSync(ARTIFACTS, { recursive: true });
    await opsPage.screenshot({ path: path.join(ARTIFACTS, 'ui.png'), fullPage: true });

    for (const [tenant, id] of [
      ['alice', aliceId],
      ['bob', bobId],
    ] as const)
      expect((await api(tenant)('DELETE', `/v1/allocations/${id}`)).status).toBe(204);
    await msUntil(opsPage, 'rect[data-owner="allocation"]', 'detached');
    await bobPage.close();
    await opsPage.close();
  }, 120_000); // three tabs and a few jobs: slow on a loaded 2-core machine
});
