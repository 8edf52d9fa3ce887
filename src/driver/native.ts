// Loads the Node-API addon built by node-gyp (build/Release/rafabric_native.node).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One opened adapter as the addon exposes it (native/addon/device.h). */
export interface NativeDevice {
  readonly bar: ArrayBuffer;
  readonly peerId: number;
  readonly vectors: number;
  readonly open: boolean;
  ring(vector: number): void;
  watch(vector: number, callback: ((count: number) => void) | null): void;
  watchGone(callback: (() => void) | null): void;
  keepAlive(vector: number, on: boolean): void;
  close(): void;
}

export interface NativeHostMapping {
  readonly buffer: ArrayBuffer;
  close(): void;
}

/** A tenant window's doorbell and interrupt FIFOs (ra-spec §18.5; native/addon/window_interrupt.h). */
export interface NativeWindowInterrupt {
  /** one byte into the doorbell; false when the model closed its end (the window was revoked) */
  ring(): boolean;
  /** called back after each batch of interrupts (gone = false), once with gone = true at hang-up */
  watch(callback: (gone: boolean) => void): void;
  /** whether the watch keeps the event loop alive (while a waiter waits) */
  keepAlive(on: boolean): void;
  close(): void;
}

export interface BuildInfo {
  addonVersion: string;
  napiVersion: number;
  napiBuildVersion: number;
  nodeVersion: string;
  compiler: string;
  backends: string;
}

interface Addon {
  Device: new (uri: string) => NativeDevice;
  HostMapping: new (path: string, offset: number, bytes: number, create: boolean) => NativeHostMapping;
  /** Adapter memory by URI: `dax:///dev/daxX.Y` (a CXL region in devdax mode inside a QEMU guest). */
  MemoryMapping: new (
    uri: string,
    offset: number,
    bytes: number,
  ) => NativeHostMapping;
  /**
   * Copies `source` into `target` (same length); false instead of a fatal SIGBUS when a page of
   * either is gone (a revoked memory grant, ra-spec §18.7).
   */
  guardedCopy(target: Uint8Array, source: Uint8Array): boolean;
  /** Opens a window's `<window>.db` and `<window>.irq`; errors carry the errno name as `code`. */
  WindowInterrupt: new (
    doorbellPath: string,
    irqPath: string,
  ) => NativeWindowInterrupt;
  buildInfo(): BuildInfo;
}

export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const addonPath = path.join(packageRoot, 'build', 'Release', 'rafabric_native.node');

let loaded: Addon | undefined;

export function addon(): Addon {
  if (!loaded) {
    try {
      loaded = createRequire(import.meta.url)(addonPath) as Addon;
    } catch (err) {
      throw new Error(
        `cannot load the native addon at ${addonPath}: run \`npm run build\` (${(err as Error).message})`,
      );
    }
  }
  return loaded;
}

/** Path of the device model executable built beside the addon. */
export const modelExecutable = path.join(packageRoot, 'build', 'Release', 'ra-model');
