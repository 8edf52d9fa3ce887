// Electing the one GRM replica that runs reallocation and reconciliation (docs/cluster.md, "GRM
// replicas"), through etcd's election recipe (etcd3's Election: each candidate puts a key under a lease,
// the oldest key leads). A leader that dies stops renewing its lease, etcd deletes its key when the lease
// expires, and the next candidate is elected: takeover within `ttlSeconds` (plus one watch round trip).
// A leader that was frozen (SIGSTOP) past its lease learns it lost the lease at its next renewal, within
// ttlSeconds/3; confirm() reads the election from etcd so a pass that acts on the pool never relies on
// that belief alone.
import { randomBytes } from 'node:crypto';
import { type Campaign, Etcd3 } from 'etcd3';
import { StoreCode, StoreError } from './errors.js';
import { DEFAULT_KEY_PREFIX } from './etcd-store.js';

/** Default lease TTL of a candidate, in seconds: a dead leader is replaced within about this long. */
export const DEFAULT_LEADER_TTL_SECONDS = 5;
/** Wait before campaigning again after the campaign failed (etcd out of reach, lease lost). */
const RECAMPAIGN_MS = 1000;

export interface LeaderElectionOptions {
  endpoints: string[];
  /** This replica's name in the election (made unique with a random suffix). */
  name: string;
  keyPrefix?: string;
  ttlSeconds?: number;
  /** Called when this replica becomes the leader. */
  onElected(): void;
  /** Called when it stops being the leader (lease lost, etcd out of reach, stop()). */
  onDemoted(why: string): void;
}

export class LeaderElection {
  /** The value this replica campaigns with: unique per process, so confirm() can tell it from others. */
  readonly id: string;
  private readonly client: Etcd3;
  private campaign: Campaign | undefined;
  private leading = false;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly election;

  constructor(private readonly o: LeaderElectionOptions) {
    const ttl = o.ttlSeconds ?? DEFAULT_LEADER_TTL_SECONDS;
    if (!Number.isSafeInteger(ttl) || ttl < 2) {
      throw new StoreError(
        StoreCode.INVALID_ARGUMENT,
        `the leader lease TTL must be an integer >= 2 seconds (got ${String(o.ttlSeconds)})`,
      );
    }
    this.id = `${o.name}/${process.pid}/${randomBytes(4).toString('hex')}`;
    this.client = new Etcd3({ hosts: o.endpoints, dialTimeout: 2000 });
    this.election = this.client.namespace(o.keyPrefix ?? DEFAULT_KEY_PREFIX).election('leader', ttl);
    this.run();
  }

  /** Whether this replica believes it leads (see confirm()). */
  get isLeader(): boolean {
    return this.leading;
  }

  /** Reads the election from etcd: true only if this replica leads now (false when etcd cannot say). */
  async confirm(): Promise<boolean> {
    if (!this.leading) return false;
    try {
      return (await this.election.leader()) === this.id;
    } catch {
      return false;
    }
  }

  /** The leader's id as etcd holds it now (undefined: none, or etcd out of reach). */
  async leader(): Promise<string | undefined> {
    return this.election.leader().catch(() => undefined);
  }

  private run(): void {
    if (this.stopped) return;
    const campaign = this.election.campaign(this.id);
    this.campaign = campaign;
    campaign.on('elected', () => {
      if (this.stopped || this.campaign !== campaign) return;
      this.leading = true;
      this.o.onElected();
    });
    campaign.on('error', (err: Error) => {
      if (this.campaign !== campaign) return;
      this.campaign = undefined;
      this.demote(`the campaign failed: ${err.message}`);
      void campaign.resign().catch(() => undefined);
      if (!this.stopped) this.retry = setTimeout(() => this.run(), RECAMPAIGN_MS);
    });
  }

  private demote(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.o.onDemoted(why);
  }

  /** Resigns (another replica is elected at once) and closes the client. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retry);
    this.demote('stopping');
    const campaign = this.campaign;
    this.campaign = undefined;
    await campaign?.resign().catch(() => undefined);
    this.client.close();
  }
}
