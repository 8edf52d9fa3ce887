// One server's agent, assembled (what `rafabric agent` runs): the server's device model (a child
// process, as in embedded mode), the agent that owns its adapters, and the gRPC service in front.
// With a state folder the model outlives the agent (a crash, kill -9 or SIGTERM leaves the tenants'
// slices in place) and the next agent started on that folder takes it over.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openShippedCatalog } from '../bitstream/shipped.js';
import { ModelProcess, runningModelUris } from '../driver/model-process.js';
import { Agent } from './agent.js';
import { type AgentServer, type AgentServerOptions, serveAgentRpc } from './rpc/server.js';
import type { TlsFiles } from './rpc/tls.js';

export interface AgentHostOptions {
  server: string;
  adapters: number;
  memoryBytes: number;
  host: string;
  port: number;
  tls: TlsFiles;
  /** Keeps the device model's files and process across agent restarts. */
  stateDir?: string;
  /**
   * Fabric directory shared with the other servers' models (ra-spec §8.9.1): this server's adapters
   * join it, so DMA reaches the adapters of every server on the fabric.
   */
  fabricDir?: string;
  /** With `fabricDir`: this server's first fabric port (ports base..base+adapters-1). */
  fabricBase?: number;
  onCallError?: AgentServerOptions['onCallError'];
  /** Fabric zone this server's adapters publish (selectors and constraints read it). */
  zone?: string;
}

export interface AgentHost {
  agent: Agent;
  rpc: AgentServer;
  /** The model this agent started (undefined when it took over a running one). */
  model: ModelProcess | undefined;
  modelDir: string;
  reusedModel: boolean;
  stop(): Promise<void>;
}

const MODEL_PID_FILE = 'ra-model.pid';

/** The pid of the model a state folder's agent started (for stopping it when the folder is done). */
export function modelPidOf(stateDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(stateDir, 'model', MODEL_PID_FILE), 'utf8'));
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function startAgentHost(o: AgentHostOptions): Promise<AgentHost> {
  const ownsDir = o.stateDir === undefined;
  const base = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const modelDir = ownsDir
    ? mkdtempSync(path.join(base, 'rafabric-agent-'))
    : path.join(o.stateDir!, 'model');
  mkdirSync(modelDir, { recursive: true });
  let model: ModelProcess | undefined;
  let uris = ownsDir ? undefined : runningModelUris(modelDir, o.adapters);
  const reusedModel = uris !== undefined;
  if (!uris) {
    if (o.fabricDir !== undefined) mkdirSync(o.fabricDir, { recursive: true });
    model = await ModelProcess.start({
      adapters: o.adapters,
      dir: modelDir,
      memoryBytes: o.memoryBytes,
      dieWithParent: ownsDir,
      ...(o.fabricDir !== undefined ? { fabricDir: o.fabricDir } : {}),
      ...(o.fabricBase !== undefined ? { fabricBase: o.fabricBase } : {}),
    });
    uris = model.uris;
    writeFileSync(path.join(modelDir, MODEL_PID_FILE), `${model.pid}\n`);
  }
  let agent: Agent | undefined;
  try {
    agent = Agent.open(o.server, uris, openShippedCatalog(), o.zone !== undefined ? { zone: o.zone } : {});
    const rpc = await serveAgentRpc(agent, {
      host: o.host,
      port: o.port,
      tls: o.tls,
      ...(o.onCallError ? { onCallError: o.onCallError } : {}),
    });
    const opened = agent;
    return {
      agent: opened,
      rpc,
      model,
      modelDir,
      reusedModel,
      async stop() {
        await rpc.close();
        opened.close();
        if (ownsDir) {
          await model?.stop();
          rmSync(modelDir, { recursive: true, force: true });
        } else if (model) {
          // The model stays for the next agent: let go of its pipes so this process can exit
          // (the model ignores SIGPIPE; its later log lines are dropped).
          model.child.stdout?.destroy();
          model.child.stderr?.destroy();
          model.child.unref();
        }
      },
    };
  } catch (err) {
    agent?.close();
    if (ownsDir) {
      await model?.stop();
      rmSync(modelDir, { recursive: true, force: true });
    }
    throw err;
  }
}
