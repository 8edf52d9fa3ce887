// The cluster store: allocations and intents in etcd, so that several GRM replicas share one truth.
//
// Keys (under a prefix, `/rafabric/v1/` unless told otherwise), one JSON value each:
//   <prefix>allocations/<id>   a committed allocation (checked by validate.ts on every read)
//   <prefix>intents/<id>       an intent (an allocation being configured)
//
// Every write is one etcd transaction that compares the revisions this replica last saw (store.ts,
// WriteOptions): recordIntent needs both keys absent; commit needs the allocation absent and the intent at
// its revision, and puts the allocation and deletes the intent atomically; update/remove/abortIntent need
// the key at the caller's expected revision (or at the one this replica last saw). A replica whose view is
// stale (another replica wrote since) loses with STALE_REVISION and nothing changes. Writes of one replica
// to one id are queued one after another, so a replica never races itself.
//
// etcd out of reach: a write fails with STORE_UNAVAILABLE (the API answers 503) within `deadlineMs`; load()
// still answers with the state this replica last saw, refresh() fails. The etcd3 client reconnects by
// itself (a host's circuit is retried after a few seconds), so writes work again once etcd is back.
//
// An acknowledged write is in etcd's raft log on a quorum of members (etcd fsyncs before it answers).
//
// Replicas (docs/cluster.md, "GRM replicas"): watch() follows etcd's changes under the prefix from the
// revision the store was read at, so this replica's view takes the other replicas' writes within a watch
// round trip, and onChange() listeners (src/grm/replica-sync.ts) hear each one. Every record is applied
// by revision: an event, a re-read or a lost compare older than what this replica already holds for a key
// is skipped (removals leave a tombstone revision until the watch has passed it), so the view only moves
// forward; an own write is applied once (it may be heard when the watch delivers it before the
// transaction's answer: applying it again changes nothing).
import {
  type DeleteBuilder,
  Etcd3,
  GRPCDeadlineExceededError,
  type IKeyValue,
  type ITxnResponse,
  type IWatchResponse,
  type PutBuilder,
  type Watcher,
} from 'etcd3';
import { StoreCode, StoreError } from './errors.js';
import { checkEtcdEndpoints } from './etcd-endpoints.js';
import { checkExpectedRevision, Revisions, staleRevision } from './revisions.js';
import {
  applyOperation,
  type CommitAllOperation,
  checkApplicable,
  cloneState,
  commitAllOf,
  commitsOf,
  emptyState,
  type MutableState,
  type SingleOperation,
} from './state.js';
import type {
  AllocationStore,
  Intent,
  StoreDiagnostics,
  StoredAllocation,
  StoreHealth,
  StoreState,
  WriteOptions,
} from './store.js';
import { checkAllocation, checkId, checkIntent, normalized, ShapeError } from './validate.js';

export const DEFAULT_KEY_PREFIX = '/rafabric/v1/';
/** Default deadline of one store call (all its retries included), in milliseconds. */
export const DEFAULT_DEADLINE_MS = 2000;
/**
 * The largest value one key may hold. An allocation is a few hundred bytes per placement; etcd refuses
 * requests over 1.5 MiB, and a bound well under it keeps every read page small.
 */
export const MAX_VALUE_BYTES = 64 * 1024;
/** Keys read per range request while loading (each page is at most this many values). */
const PAGE_KEYS = 256;

export interface EtcdStoreOptions {
  /** etcd client URLs, e.g. `http://127.0.0.1:2379`: any member of one cluster. */
  endpoints: string[];
  /** Key prefix (ends with `/`); default `/rafabric/v1/`. Tests give each store its own. */
  keyPrefix?: string;
  /** Deadline of every call, retries included (default 2000 ms). */
  deadlineMs?: number;
}

type Kind = 'allocations' | 'intents';

/** Another writer's change to one record, as this replica learnt it (value undefined: removed). */
export type StoreChange =
  | { kind: 'allocation'; id: string; value: StoredAllocation | undefined; revision: number }
  | { kind: 'intent'; id: string; value: Intent | undefined; revision: number };

export class EtcdStore implements AllocationStore {
  readonly singleWriter: boolean = false;
  private closed = false;
  /** Writes queued per id: one replica's writes to one id run one after another. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Set when etcd did not answer; cleared by the next call that it answered. */
  private unreachable: Error | undefined;
  private probing = false;
  /** key -> revision of its removal as this replica applied it, until the watch has passed that revision. */
  private readonly removedAt = new Map<string, number>();
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private watcher: Watcher | undefined;
  /** The etcd revision this replica's view is complete up to (the last read, or the watch's progress). */
  private seenRevision = 0;

  private constructor(
    private readonly client: Etcd3,
    readonly endpoints: string[],
    private readonly prefix: string,
    private readonly deadlineMs: number,
    private state: MutableState,
    private revisions: Revisions,
    private readonly diagnostics: StoreDiagnostics,
  ) {}

  /** Connects and reads every allocation and intent under the prefix (refused: STORE_UNAVAILABLE, CORRUPT). */
  static async open(options: EtcdStoreOptions): Promise<EtcdStore> {
    const endpoints = checkEtcdEndpoints(options.endpoints);
    const prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    if (!prefix.startsWith('/') || !prefix.endsWith('/')) {
      throw new StoreError(
        StoreCode.INVALID_ARGUMENT,
        `keyPrefix must start and end with "/" (got "${prefix}")`,
      );
    }
    const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    if (!Number.isSafeInteger(deadlineMs) || deadlineMs < 1) {
      throw new StoreError(
        StoreCode.INVALID_ARGUMENT,
        `deadlineMs must be an integer >= 1 (got ${String(deadlineMs)})`,
      );
    }
    const client = new Etcd3({ hosts: endpoints, dialTimeout: deadlineMs });
    const diagnostics: StoreDiagnostics = { repairedTail: false, ignoredBytes: 0, warnings: [] };
    const store = new EtcdStore(
      client,
      endpoints,
      prefix,
      deadlineMs,
      emptyState(),
      new Revisions(),
      diagnostics,
    );
    try {
      await store.readAll();
    } catch (err) {
      client.close();
      throw err;
    }
    return store;
  }

  load(): StoreState {
    this.ensureOpen();
    return {
      ...cloneState(this.state),
      diagnostics: { ...this.diagnostics, warnings: [...this.diagnostics.warnings] },
    };
  }

  async refresh(): Promise<StoreState> {
    this.ensureOpen();
    await this.readAll();
    return this.load();
  }

  revisionOf(id: string): number | undefined {
    return this.revisions.of(id);
  }

  /** Calls `listener` with every change another writer made that this replica learns (returns: unsubscribe). */
  onChange(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The etcd revision this replica's view is complete up to. */
  get revision(): number {
    return this.seenRevision;
  }

  /**
   * Follows etcd from the revision this replica last read: every other writer's change reaches the view
   * (and onChange listeners) within a watch round trip. The etcd3 watcher resubscribes by itself after a
   * broken connection, from the last revision it delivered; if etcd compacted that revision away the
   * view is read whole again (refresh()). Idempotent.
   */
  async watch(): Promise<void> {
    this.ensureOpen();
    if (this.watcher) return;
    const watcher = await this.client
      .watch()
      .prefix(this.prefix)
      .startRevision(String(this.seenRevision + 1))
      .create();
    if (this.closed) {
      await watcher.cancel();
      return;
    }
    this.watcher = watcher;
    watcher.on('data', (response: IWatchResponse) => this.applyWatch(response));
    // After a broken connection the watcher resumes from its last revision; a read closes any gap anyway.
    watcher.on('connected', () => {
      if (this.watcher === watcher) void this.readAll().catch(() => undefined);
    });
    watcher.on('error', () => {
      // A compacted start revision or a cancelled watch: read everything, then follow again.
      void this.rewatch();
    });
  }

  private async rewatch(): Promise<void> {
    const old = this.watcher;
    this.watcher = undefined;
    // Not awaited: cancelling needs etcd, which may be the reason the watch broke.
    void old?.cancel().catch(() => undefined);
    for (let delayMs = 100; !this.closed; delayMs = Math.min(delayMs * 2, 2000)) {
      try {
        await this.readAll();
        await this.watch();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  private applyWatch(response: IWatchResponse): void {
    if (this.closed) return;
    for (const event of response.events) {
      try {
        this.applyKv(
          event.kv,
          event.type === 'Delete',
          revisionNumber(event.kv.mod_revision, 'a watch event'),
        );
      } catch (err) {
        // A value that cannot be trusted is not taken (open() would refuse it); said in the diagnostics.
        const warning = `watch: ${(err as Error).message}`;
        if (!this.diagnostics.warnings.includes(warning)) this.diagnostics.warnings.push(warning);
      }
    }
    const revision = Number(response.header.revision);
    if (Number.isSafeInteger(revision) && revision > this.seenRevision) this.seenRevision = revision;
    for (const [key, removed] of this.removedAt) if (removed <= this.seenRevision) this.removedAt.delete(key);
  }

  /** The key's kind and id, or undefined for a key that is not an allocation or an intent. */
  private parseKey(key: string): { kind: Kind; id: string } | undefined {
    const rest = key.slice(this.prefix.length);
    const slash = rest.indexOf('/');
    const kind = rest.slice(0, slash);
    if (slash < 0 || (kind !== 'allocations' && kind !== 'intents')) return undefined;
    return { kind, id: rest.slice(slash + 1) };
  }

  /** The revision this replica holds for a key: its mod revision, or its removal's (0: never seen). */
  private heldRevision(kind: Kind, id: string): number {
    const revisions = kind === 'allocations' ? this.revisions.allocations : this.revisions.intents;
    return revisions.get(id) ?? this.removedAt.get(this.key(kind, id)) ?? 0;
  }

  /**
   * Applies one key as etcd held it at `revision` (a put's mod revision, a delete's revision) if that is
   * newer than what this replica holds, and tells the listeners.
   */
  private applyKv(kv: IKeyValue, deleted: boolean, revision: number): void {
    const key = kv.key.toString('utf8');
    const parsed = this.parseKey(key);
    if (!parsed) return;
    const { kind, id } = parsed;
    if (revision <= this.heldRevision(kind, id)) return;
    const revisions = kind === 'allocations' ? this.revisions.allocations : this.revisions.intents;
    let change: StoreChange;
    if (kind === 'allocations') {
      const value = deleted ? undefined : decodeValue(kv, key, id, checkAllocation);
      if (value) this.state.allocations.set(id, value);
      else this.state.allocations.delete(id);
      change = { kind: 'allocation', id, value, revision };
    } else {
      const value = deleted ? undefined : decodeValue(kv, key, id, checkIntent);
      if (value) this.state.intents.set(id, value);
      else this.state.intents.delete(id);
      change = { kind: 'intent', id, value, revision };
    }
    if (deleted) {
      revisions.delete(id);
      this.removedAt.set(key, revision);
    } else {
      revisions.set(id, revision);
      this.removedAt.delete(key);
    }
    this.emit(change);
  }

  private emit(change: StoreChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure is its own (replica-sync logs it); the view is already applied.
      }
    }
  }

  recordIntent(intent: Intent): Promise<void> {
    return this.write(() => ({ op: 'intent', data: normalized(intent, checkIntent, 'intent') }));
  }

  commit(allocation: StoredAllocation): Promise<void> {
    return this.write(() => ({ op: 'commit', data: normalized(allocation, checkAllocation, 'allocation') }));
  }

  /**
   * One transaction for every member: each allocation key absent and each intent at the revision this
   * replica saw, then every put and delete (etcd applies a transaction whole or not at all). Queued
   * behind the writes of every id it names.
   */
  commitAll(allocations: readonly StoredAllocation[]): Promise<void> {
    let operation: CommitAllOperation;
    let values: string[];
    try {
      this.ensureOpen();
      operation = commitAllOf(allocations);
      values = commitsOf(operation).map((c) => encodeValue(c)!);
    } catch (err) {
      return Promise.reject(err);
    }
    const ids = operation.data.allocations.map((a) => a.id);
    const before = Promise.all(ids.map((id) => this.chains.get(id) ?? Promise.resolve()));
    const run = before.then(() => this.transactAll(operation, values));
    const chained = run.then(
      () => undefined,
      () => undefined,
    );
    for (const id of ids) {
      this.chains.set(id, chained);
      void chained.then(() => {
        if (this.chains.get(id) === chained) this.chains.delete(id);
      });
    }
    return run;
  }

  private async transactAll(operation: CommitAllOperation, values: readonly string[]): Promise<void> {
    checkApplicable(this.state, operation);
    const singles = commitsOf(operation);
    const keys = singles.map(({ data }) => ({
      id: data.id,
      allocation: this.key('allocations', data.id),
      intent: this.key('intents', data.id),
    }));
    const [first, ...rest] = keys;
    const txn = this.client.if(first!.allocation, 'Mod', '==', 0).options(this.callOptions());
    txn.and(first!.intent, 'Mod', '==', this.revisions.intents.get(first!.id) ?? 0);
    for (const k of rest) {
      txn.and(k.allocation, 'Mod', '==', 0);
      txn.and(k.intent, 'Mod', '==', this.revisions.intents.get(k.id) ?? 0);
    }
    txn.then(
      ...keys.flatMap((k, i) => [
        this.client.put(k.allocation).value(values[i]!),
        this.client.delete().key(k.intent),
      ]),
    );
    txn.else(...keys.flatMap((k) => [this.client.get(k.allocation), this.client.get(k.intent)]));
    let response: ITxnResponse;
    try {
      response = await txn.commit();
    } catch (err) {
      throw this.unavailable(err, `commit-all of ${keys.map((k) => k.id).join(', ')}`);
    }
    this.unreachable = undefined;
    const revision = revisionNumber(response.header.revision, 'the transaction');
    if (response.succeeded) {
      for (const single of singles) this.applyOwn(single, revision);
      return;
    }
    const kvs = response.responses.map((r) => r.response_range.kvs[0]);
    keys.forEach((k, i) => {
      this.learn('allocations', k.id, kvs[2 * i], revision);
      this.learn('intents', k.id, kvs[2 * i + 1], revision);
    });
    // An earlier attempt of this same transaction succeeded and its answer was lost (client retry).
    if (singles.every((c, i) => alreadyApplied(c, values[i], kvs[2 * i], kvs[2 * i + 1]))) return;
    checkApplicable(this.state, operation);
    const k = keys[0]!;
    throw staleRevision('intent', k.id, this.revisions.intents.get(k.id), undefined);
  }

  update(allocation: StoredAllocation, options: WriteOptions = {}): Promise<void> {
    return this.write(
      () => ({ op: 'update', data: normalized(allocation, checkAllocation, 'allocation') }),
      options,
    );
  }

  abortIntent(id: string, options: WriteOptions = {}): Promise<void> {
    return this.write(() => ({ op: 'abort', data: { id: normalized(id, checkId, 'id') } }), options);
  }

  remove(id: string, options: WriteOptions = {}): Promise<void> {
    return this.write(() => ({ op: 'remove', data: { id: normalized(id, checkId, 'id') } }), options);
  }

  health(): StoreHealth {
    if (this.closed) return { writable: false, problem: 'the etcd store is closed' };
    if (!this.unreachable) return { writable: true };
    this.probe();
    return {
      writable: false,
      problem:
        `etcd at ${this.endpoints.join(',')} did not answer (${this.unreachable.message}): writes fail with ` +
        'STORE_UNAVAILABLE until it does; start etcd or restore its quorum',
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
    await this.watcher?.cancel().catch(() => undefined);
    this.watcher = undefined;
    this.client.close();
  }

  private key(kind: Kind, id: string): string {
    return `${this.prefix}${kind}/${id}`;
  }

  /** Call options of one store call: every retry the client makes shares the one deadline. */
  private callOptions(): { deadline: number } {
    return { deadline: Date.now() + this.deadlineMs };
  }

  /** Validates now (bad input is refused at once), then queues the transaction behind the id's writes. */
  private write(build: () => SingleOperation, options: WriteOptions = {}): Promise<void> {
    let operation: SingleOperation;
    let expected: number | undefined;
    let value: string | undefined;
    try {
      this.ensureOpen();
      operation = build();
      expected = checkExpectedRevision(options.expectedRevision);
      value = encodeValue(operation);
    } catch (err) {
      return Promise.reject(err);
    }
    const { id } = operation.data;
    const before = this.chains.get(id) ?? Promise.resolve();
    const run = before.then(() => this.transact(operation, expected, value));
    const chained = run.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(id, chained);
    void chained.then(() => {
      if (this.chains.get(id) === chained) this.chains.delete(id);
    });
    return run;
  }

  /** One compare-and-swap transaction (see the head of this file). */
  private async transact(
    operation: SingleOperation,
    expected: number | undefined,
    value: string | undefined,
  ): Promise<void> {
    // Not ensureOpen(): a write accepted before close() runs to its end (close() waits for it).
    // Checked against what this replica last saw: a clear CONFLICT/NOT_FOUND without a round trip.
    checkApplicable(this.state, operation);
    const { id } = operation.data;
    const allocationKey = this.key('allocations', id);
    const intentKey = this.key('intents', id);
    const allocationRevision = this.revisions.allocations.get(id) ?? 0;
    const intentRevision = this.revisions.intents.get(id) ?? 0;
    // [key, mod revision it must have] (0: absent), the changes if they all hold, and what they compared.
    let compares: [string, number][];
    let changes: (PutBuilder | DeleteBuilder)[];
    let compared: { kind: 'allocation' | 'intent'; revision: number };
    switch (operation.op) {
      case 'intent':
        compares = [
          [allocationKey, 0],
          [intentKey, 0],
        ];
        changes = [this.client.put(intentKey).value(value!)];
        compared = { kind: 'intent', revision: 0 };
        break;
      case 'commit':
        compares = [
          [allocationKey, 0],
          [intentKey, intentRevision],
        ];
        changes = [this.client.put(allocationKey).value(value!), this.client.delete().key(intentKey)];
        compared = { kind: 'intent', revision: intentRevision };
        break;
      case 'update':
      case 'remove': {
        this.revisions.check(operation, expected);
        const revision = expected ?? allocationRevision;
        compares = [[allocationKey, revision]];
        changes = [
          operation.op === 'update'
            ? this.client.put(allocationKey).value(value!)
            : this.client.delete().key(allocationKey),
        ];
        compared = { kind: 'allocation', revision };
        break;
      }
      case 'abort': {
        this.revisions.check(operation, expected);
        const revision = expected ?? intentRevision;
        compares = [[intentKey, revision]];
        changes = [this.client.delete().key(intentKey)];
        compared = { kind: 'intent', revision };
        break;
      }
    }
    const [[firstKey, firstRevision], ...more] = compares as [[string, number], ...[string, number][]];
    const txn = this.client.if(firstKey, 'Mod', '==', firstRevision).options(this.callOptions());
    for (const [key, revision] of more) txn.and(key, 'Mod', '==', revision);
    txn.then(...changes).else(this.client.get(allocationKey), this.client.get(intentKey));
    let response: ITxnResponse;
    try {
      response = await txn.commit();
    } catch (err) {
      throw this.unavailable(err, `${operation.op} of ${id}`);
    }
    this.unreachable = undefined;
    const revision = revisionNumber(response.header.revision, 'the transaction');
    if (response.succeeded) {
      this.applyOwn(operation, revision);
      return;
    }
    // Another writer changed these keys: learn what etcd holds, then say why the write lost.
    const [allocationKv, intentKv] = response.responses.map((r) => r.response_range.kvs[0]);
    this.learn('allocations', id, allocationKv, revision);
    this.learn('intents', id, intentKv, revision);
    if (alreadyApplied(operation, value, allocationKv, intentKv)) return;
    checkApplicable(this.state, operation);
    const current =
      compared.kind === 'allocation' ? this.revisions.allocations.get(id) : this.revisions.intents.get(id);
    throw staleRevision(compared.kind, id, compared.revision || undefined, current);
  }

  /**
   * This replica's own write, acknowledged at `revision`. Skipped if the watch already delivered a newer
   * change of the same record (another replica wrote after this one): the view never moves back.
   */
  private applyOwn(operation: SingleOperation, revision: number): void {
    const { id } = operation.data;
    const kind: Kind = operation.op === 'intent' || operation.op === 'abort' ? 'intents' : 'allocations';
    // The watch already passed this revision: it applied this very write (and maybe newer ones).
    if (revision <= this.seenRevision || revision <= this.heldRevision(kind, id)) return;
    applyOperation(this.state, operation);
    this.revisions.apply(operation, revision);
    const allocationKey = this.key('allocations', id);
    const intentKey = this.key('intents', id);
    if (operation.op === 'remove') this.removedAt.set(allocationKey, revision);
    if (operation.op === 'abort' || operation.op === 'commit') this.removedAt.set(intentKey, revision);
    if (operation.op === 'commit' || operation.op === 'update') this.removedAt.delete(allocationKey);
    if (operation.op === 'intent') this.removedAt.delete(intentKey);
  }

  /**
   * Reads every key under the prefix at one revision, page by page, and merges it into this replica's view
   * by revision: a key read newer than held is taken, a held key the read does not show was removed (unless
   * this replica wrote it after the read's revision). Listeners hear what changed.
   */
  private async readAll(): Promise<void> {
    const start = Buffer.from(this.prefix);
    const end = prefixEnd(start);
    let from = start;
    let atRevision: string | undefined;
    const kvs: IKeyValue[] = [];
    for (;;) {
      let page: Awaited<ReturnType<Etcd3['kv']['range']>>;
      try {
        page = await this.client.kv.range(
          { key: from, range_end: end, limit: PAGE_KEYS, ...(atRevision ? { revision: atRevision } : {}) },
          this.callOptions(),
        );
      } catch (err) {
        throw this.unavailable(err, 'reading the store', false);
      }
      atRevision ??= page.header.revision;
      kvs.push(...page.kvs);
      if (!page.more || page.kvs.length === 0) break;
      from = Buffer.concat([page.kvs[page.kvs.length - 1]!.key, Buffer.from([0])]);
    }
    this.unreachable = undefined;
    const readRevision = revisionNumber(atRevision, 'the read');
    const present = new Set<string>();
    for (const kv of kvs) {
      const key = kv.key.toString('utf8');
      if (!this.parseKey(key)) {
        // The replicas' election and the agents' registrations share the prefix (etcd-leader.ts, etcd-agents.ts).
        if (/^(election|agents)\//.test(key.slice(this.prefix.length))) continue;
        const warning = `ignored etcd key ${key}: not an allocation or an intent of this store`;
        if (!this.diagnostics.warnings.includes(warning)) this.diagnostics.warnings.push(warning);
        continue;
      }
      present.add(key);
      this.applyKv(kv, false, revisionNumber(kv.mod_revision, key));
    }
    for (const id of [...this.state.allocations.keys()])
      if (!present.has(this.key('allocations', id))) this.applyAbsent('allocations', id, readRevision);
    for (const id of [...this.state.intents.keys()])
      if (!present.has(this.key('intents', id))) this.applyAbsent('intents', id, readRevision);
    if (readRevision > this.seenRevision) this.seenRevision = readRevision;
  }

  /** The key was absent at `revision` (a read or a lost compare said so). */
  private applyAbsent(kind: Kind, id: string, revision: number): void {
    const held = kind === 'allocations' ? this.state.allocations.has(id) : this.state.intents.has(id);
    if (!held) return;
    this.applyKv({ key: Buffer.from(this.key(kind, id)) } as IKeyValue, true, revision);
  }

  /** Takes what etcd held for one key at `revision` (read after a lost compare) into this replica's view. */
  private learn(kind: Kind, id: string, kv: IKeyValue | undefined, revision: number): void {
    if (kv) this.applyKv(kv, false, revisionNumber(kv.mod_revision, this.key(kind, id)));
    else this.applyAbsent(kind, id, revision);
  }

  /** etcd did not answer: STORE_UNAVAILABLE, saying whether the write may still have happened. */
  private unavailable(err: unknown, what: string, write = true): StoreError {
    if (err instanceof StoreError) return err;
    const cause = err instanceof Error ? err : new Error(String(err));
    this.unreachable = cause;
    const timedOut = cause instanceof GRPCDeadlineExceededError;
    return new StoreError(
      StoreCode.UNAVAILABLE,
      `${what}: etcd at ${this.endpoints.join(',')} did not answer within ${this.deadlineMs} ms ` +
        `(${cause.message}). ` +
        (!write
          ? ''
          : timedOut
            ? 'If the request reached etcd it may still apply: refresh() before deciding again. '
            : 'The operation did not happen. ') +
        'Retry once etcd is reachable (check that its members run and have a quorum).',
      { endpoints: this.endpoints },
    );
  }

  /** After etcd stopped answering: one read in the background; an answer clears the failure. */
  private probe(): void {
    if (this.probing || this.closed) return;
    this.probing = true;
    this.client
      .get(`${this.prefix}probe`)
      .options(this.callOptions())
      .exec()
      .then(
        () => {
          this.unreachable = undefined;
        },
        (err: unknown) => {
          this.unreachable = err instanceof Error ? err : new Error(String(err));
        },
      )
      .finally(() => {
        this.probing = false;
      });
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreError(StoreCode.CLOSED, 'the etcd store is closed; open it again');
  }
}

/** The JSON value a write puts (none for abort/remove); bounded by MAX_VALUE_BYTES. */
function encodeValue(operation: SingleOperation): string | undefined {
  if (operation.op === 'abort' || operation.op === 'remove') return undefined;
  const value = JSON.stringify(operation.data);
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_VALUE_BYTES) {
    throw new StoreError(
      StoreCode.INVALID_ARGUMENT,
      `${operation.op === 'intent' ? 'intent' : 'allocation'} ${operation.data.id} is ${bytes} bytes as JSON; ` +
        `the etcd store keeps at most ${MAX_VALUE_BYTES} bytes per record: use fewer placements`,
    );
  }
  return value;
}

function decodeValue<T extends { id: string }>(
  kv: IKeyValue,
  key: string,
  id: string,
  check: (value: unknown, path: string) => T,
): T {
  let value: T;
  try {
    value = check(JSON.parse(kv.value.toString('utf8')), key);
  } catch (err) {
    if (!(err instanceof ShapeError) && !(err instanceof SyntaxError)) throw err;
    throw corrupt(key, `${err.message}`);
  }
  if (value.id !== id) throw corrupt(key, `it holds id ${value.id}`);
  return value;
}

function corrupt(key: string, problem: string): StoreError {
  return new StoreError(
    StoreCode.CORRUPT,
    `etcd key ${key} cannot be trusted (${problem}): the store refuses it rather than guess. Fix or delete ` +
      'the key (etcdctl), then start again.',
    { key },
  );
}

function revisionNumber(revision: string, what: string): number {
  const n = Number(revision);
  if (!Number.isSafeInteger(n) || n < 1) throw corrupt(what, `revision ${revision} is not usable`);
  return n;
}

/** The end of the key range holding every key that starts with `prefix` (etcd's range_end). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/**
 * The compare failed, but etcd already holds exactly what this write puts: an earlier attempt of this
 * same write succeeded and its answer was lost (the client retried it). Removals cannot be told apart
 * from another replica's and are not taken as done.
 */
function alreadyApplied(
  operation: SingleOperation,
  value: string | undefined,
  allocationKv: IKeyValue | undefined,
  intentKv: IKeyValue | undefined,
): boolean {
  switch (operation.op) {
    case 'intent':
      return intentKv?.value.toString('utf8') === value && allocationKv === undefined;
    case 'commit':
      return allocationKv?.value.toString('utf8') === value && intentKv === undefined;
    case 'update':
      return allocationKv?.value.toString('utf8') === value;
    default:
      return false;
  }
}
