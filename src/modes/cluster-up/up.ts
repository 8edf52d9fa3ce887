// `rafabric cluster up` / `down` (docs/cluster.md): a whole cluster on 127.0.0.1 from one folder —
// etcd, the certificates, one agent process per server (each with its own device model, all models
// joined to one fabric), and GRM replicas on etcd — left running detached, recorded in DIR/cluster.json,
// and stopped again by `down`, device models included.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { modelPidOf } from '../../agent/host.js';
import { makeClusterCerts } from '../../agent/rpc/certs.js';
import { DriverCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import { fabricAgentAdapters, fabricAgentArgs } from '../fabric-agent.js';
import { startEtcd } from './etcd.js';
import {
  isRunning,
  type Launched,
  launchDetached,
  type RecordedProcess,
  startTicksOf,
  stopAll,
  waitForLine,
} from './processes.js';

/** How long an agent or a GRM may take to print its ready line (a loaded 2-core machine included). */
export const READY_TIMEOUT_MS = 60_000;
/** SIGTERM first; whatever still runs this long after is killed. */
export const STOP_BOUND_MS = 10_000;

export interface ClusterUpOptions {
  dir: string;
  servers: number;
  adaptersPerServer: number;
  replicas: number;
  /** `--memory` of every agent (on-card memory per adapter), as the agent command takes it. */
  memory: string;
  /** Tenant tokens for the GRMs (NAME=TOKEN,...), handed over in their environment. */
  tokens: string;
  /** The `rafabric` entry point (bin/rafabric.js) the processes run. */
  cli: string;
  progress: (line: string) => void;
}

export interface ClusterAgentInfo {
  server: string;
  address: string;
  adapters: string[];
  pid: number;
}

export interface ClusterInfo {
  etcd: string;
  grm: string[];
  agents: ClusterAgentInfo[];
}

/** DIR/cluster.json: every process `up` started, for `down`. */
interface ClusterRecord {
  etcd?: RecordedProcess & { url: string };
  agents: (RecordedProcess & { server: string; address: string; stateDir: string; adapters: string[] })[];
  grm: (RecordedProcess & { url: string })[];
}

const recordFile = (dir: string) => path.join(dir, 'cluster.json');

function writeRecord(dir: string, r: ClusterRecord): void {
  const file = recordFile(dir);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(r, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

function readRecord(dir: string): ClusterRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordFile(dir), 'utf8')) as ClusterRecord;
  } catch {
    return undefined;
  }
}

/** Every process of the record, device models included (a --dir agent's model outlives the agent). */
function processesOf(r: ClusterRecord): {
  grm: RecordedProcess[];
  agents: RecordedProcess[];
  models: RecordedProcess[];
} {
  const models: RecordedProcess[] = [];
  for (const a of r.agents) {
    const pid = modelPidOf(a.stateDir);
    const startTicks = pid === undefined ? undefined : startTicksOf(pid);
    // Signalled only if it is that folder's model (the pid file may be older than a reboot).
    if (pid !== undefined && startTicks !== undefined && isModelOf(pid, a.stateDir))
      models.push({ pid, startTicks });
  }
  return { grm: r.grm, agents: r.agents, models };
}

function isModelOf(pid: number, stateDir: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return path.basename(argv[0] ?? '') === 'ra-model' && argv.includes(path.join(stateDir, 'model'));
  } catch {
    return false;
  }
}

const serverName = (i: number) => `server${i + 1}`;

export async function clusterUp(o: ClusterUpOptions): Promise<ClusterInfo> {
  const dir = path.resolve(o.dir);
  mkdirSync(dir, { recursive: true });
  const previous = readRecord(dir);
  if (previous) {
    const { grm, agents, models } = processesOf(previous);
    const etcd = previous.etcd ? [previous.etcd] : [];
    if ([...grm, ...agents, ...models, ...etcd].some(isRunning))
      throw new RaError(
        DriverCode.INVALID_ARGUMENT,
        `--dir: a cluster is already running from ${dir}; stop it with \`rafabric cluster down --dir ${o.dir}\``,
      );
  }
  // A fresh cluster: what an earlier one left (its etcd data, fabric, models' files) goes; the CA stays.
  for (const sub of ['etcd', 'fabric', 'agents', 'grm'])
    rmSync(path.join(dir, sub), { recursive: true, force: true });
  const logsDir = path.join(dir, 'logs');
  const certsDir = path.join(dir, 'certs');
  const fabricDir = path.join(dir, 'fabric');
  for (const d of [logsDir, fabricDir, path.join(dir, 'agents'), path.join(dir, 'grm')])
    mkdirSync(d, { recursive: true });
  const record: ClusterRecord = { agents: [], grm: [] };
  writeRecord(dir, record);
  try {
    const servers = Array.from({ length: o.servers }, (_, i) => serverName(i));
    o.progress(`certificates for ${servers.join(', ')} and the GRM in ${certsDir}`);
    makeClusterCerts({ dir: certsDir, agents: servers, grm: 'grm' });

    o.progress('starting etcd');
    const etcd = await startEtcd({ dataDir: path.join(dir, 'etcd'), logsDir });
    record.etcd = { pid: etcd.pid, startTicks: etcd.startTicks, url: etcd.url };
    writeRecord(dir, record);
    o.progress(`etcd serving on ${etcd.url}`);

    o.progress(`starting ${o.servers} agents with ${o.adaptersPerServer} adapters each`);
    const env = { ...process.env, RAFABRIC_LOG: process.env.RAFABRIC_LOG ?? 'info' };
    const agents = servers.map((server, i) => {
      const stateDir = path.join(dir, 'agents', server);
      const fabricBase = i * o.adaptersPerServer;
      const launched = launchDetached({
        name: `agent-${server}`,
        command: process.execPath,
        args: fabricAgentArgs({
          cli: o.cli,
          server,
          adaptersPerServer: o.adaptersPerServer,
          listen: '127.0.0.1:0',
          certsDir,
          memory: o.memory,
          stateDir,
          fabricDir,
          fabricBase,
        }),
        logsDir,
        env,
      });
      const adapters = fabricAgentAdapters({ server, adaptersPerServer: o.adaptersPerServer, fabricBase });
      const entry = {
        pid: launched.pid,
        startTicks: launched.startTicks,
        server,
        address: '',
        stateDir,
        adapters,
      };
      record.agents.push(entry);
      return { launched, entry };
    });
    writeRecord(dir, record);
    for (const { launched, entry } of agents) {
      const m = await waitForLine(
        launched,
        `agent ${entry.server}`,
        new RegExp(`^agent ${entry.server} listening on (\\S+)$`, 'm'),
        READY_TIMEOUT_MS,
      );
      entry.address = m[1]!;
      o.progress(`agent ${entry.server} listening on ${entry.address} (${entry.adapters.join(', ')})`);
    }
    writeRecord(dir, record);

    o.progress(`starting ${o.replicas} GRM replica${o.replicas === 1 ? '' : 's'} on etcd`);
    const agentList = record.agents.map((a) => `${a.server}=${a.address}`).join(',');
    const replicas: Launched[] = [];
    for (let r = 0; r < o.replicas; r++) {
      const args = [
        o.cli,
        'serve',
        '--agents',
        agentList,
        '--certs',
        certsDir,
        '--etcd',
        etcd.url,
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--state',
        path.join(dir, 'grm', `replica${r + 1}`),
      ];
      // The replicas elect through etcd the one that reconciles and reallocates (docs/cluster.md).
      const launched = launchDetached({
        name: `grm-replica${r + 1}`,
        command: process.execPath,
        args,
        logsDir,
        // Tokens in the environment, not on a command line every local user can read.
        env: { ...env, RAFABRIC_TOKENS: o.tokens },
      });
      replicas.push(launched);
      record.grm.push({ pid: launched.pid, startTicks: launched.startTicks, url: '' });
      writeRecord(dir, record);
    }
    for (const [r, launched] of replicas.entries()) {
      const m = await waitForLine(
        launched,
        `GRM replica ${r + 1}`,
        /^rafabric: listening on (http:\/\/\S+)/m,
        READY_TIMEOUT_MS,
      );
      record.grm[r]!.url = m[1]!;
      o.progress(`GRM replica ${r + 1} serving on ${m[1]}`);
    }
    writeRecord(dir, record);
    return {
      etcd: etcd.url,
      grm: record.grm.map((g) => g.url),
      agents: record.agents.map((a) => ({
        server: a.server,
        address: a.address,
        adapters: a.adapters,
        pid: a.pid,
      })),
    };
  } catch (err) {
    o.progress(`start failed: stopping what was started (logs in ${logsDir})`);
    await stopRecorded(record);
    throw err;
  }
}

async function stopRecorded(r: ClusterRecord): Promise<number[]> {
  // Front to back: the GRMs first (no new work), then the agents, their models, and etcd last.
  const { grm, agents, models } = processesOf(r);
  const killed = [
    ...(await stopAll(grm, STOP_BOUND_MS)),
    ...(await stopAll(agents, STOP_BOUND_MS)),
    // Read again: an agent restarted since `up` may have started a new model.
    ...(await stopAll([...models, ...processesOf(r).models], STOP_BOUND_MS)),
    ...(await stopAll(r.etcd ? [r.etcd] : [], STOP_BOUND_MS)),
  ];
  return killed;
}

export interface ClusterDownResult {
  stopped: number;
  /** Processes that needed SIGKILL after the bound. */
  killed: number[];
}

export async function clusterDown(o: {
  dir: string;
  progress: (line: string) => void;
}): Promise<ClusterDownResult> {
  const dir = path.resolve(o.dir);
  const r = readRecord(dir);
  if (!r)
    throw new RaError(
      DriverCode.INVALID_ARGUMENT,
      `--dir: no cluster recorded in ${dir} (${recordFile(dir)} is missing); give the folder \`cluster up\` used`,
    );
  const { grm, agents, models } = processesOf(r);
  const running = [...grm, ...agents, ...models, ...(r.etcd ? [r.etcd] : [])].filter(isRunning);
  o.progress(`stopping ${running.length} processes (SIGTERM, SIGKILL after ${STOP_BOUND_MS} ms)`);
  const killed = await stopRecorded(r);
  if (existsSync(recordFile(dir))) rmSync(recordFile(dir));
  return { stopped: running.length, killed };
}
