// The native addon builds, loads and reports how it was built.
import { describe, expect, it } from 'vitest';
import { RaError } from '../../src/common/errors.js';
import { Adapter } from '../../src/driver/adapter.js';
import { addon } from '../../src/driver/native.js';

describe('native addon', () => {
  it('loads and reports its build', () => {
    const info = addon().buildInfo();
    expect(info.addonVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(info.napiBuildVersion).toBe(9);
    expect(info.napiVersion).toBeGreaterThanOrEqual(info.napiBuildVersion);
    expect(info.nodeVersion).toContain(process.versions.node);
    expect(info.backends).toContain('shm');
  });

  it('refuses an unknown URI scheme with a clear error', () => {
    expect(() => Adapter.open('pcie://0000:00:01.0')).toThrow(/not supported/);
  });

  it('reports a missing socket as OPEN_FAILED', () => {
    try {
      Adapter.open('shm:///nonexistent/ra0.sock');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RaError);
      expect((err as RaError).code).toBe('OPEN_FAILED');
      expect((err as RaError).message).toMatch(/device model running/);
    }
  });
});
