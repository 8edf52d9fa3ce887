// An access grant (ra-spec §18, docs/access.md): what an allocation's instance needs to reach one of
// its slices directly, without the GRM on the data path. It is part of the allocation's public view,
// so only its tenant ever sees it.
export interface AccessGrant {
  /** The adapter holding the window: `<server>/ra<fabric port>`. */
  adapter: string;
  /** That adapter's fabric port (the `port` of slice references in descriptors). */
  port: number;
  /** The tenant window file (embedded mode). Its name carries a 128-bit random nonce: the capability. */
  window: string;
  /** Window index on the adapter and the adapter queue it feeds. */
  windowIndex: number;
  queue: number;
  /** The placement's slice on `adapter`. */
  slice: number;
  /** Memory slices: map [base, base + bytes) of the adapter's memory, here (embedded mode). */
  memory?: { path: string; base: number; bytes: number };
  /** Every slice the window may name: this allocation's slices on this adapter, and its memory
   * slices on other adapters (fabric copies, ra-spec §8.9). */
  reach: { port: number; slice: number }[];
}
