// `rafabric agent`: one server's agent as a network service (docs/cluster.md): its own device
// model, its adapters, and the agent protocol over gRPC with mutual TLS, until SIGTERM or SIGINT.
import { existsSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { MEMBER_NAME, readTls, type TlsFiles } from '../../agent/rpc/tls.js';
import { DriverCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import { Loc } from '../../driver/regs.js';
import { checkEtcdEndpoints } from '../../store/etcd-endpoints.js';
import { parseInteger, parseSize } from '../parse.js';

/** "127.0.0.1:7480", "[::1]:0", "localhost:7480" -> host and port; refusals name `flag`. */
export function parseHostPort(flag: string, text: string, minPort = 0): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const host = m ? (m[1] ?? m[2]!) : '';
  if (
    !m ||
    (m[1] !== undefined && isIP(host) !== 6) ||
    (m[2] !== undefined && isIP(host) === 0 && !MEMBER_NAME.test(host))
  )
    throw new RaError(
      DriverCode.INVALID_ARGUMENT,
      `${flag}: '${text.slice(0, 80)}' is not HOST:PORT (examples: 127.0.0.1:7480, [::1]:7480${minPort === 0 ? ', 0.0.0.0:0 for any free port' : ''})`,
    );
  return { host, port: parseInteger(`${flag} port`, m[3]!, minPort, 65535) };
}

/** --listen: HOST:PORT (0: any free port). */
export function parseListen(text: string): { host: string; port: number } {
  return parseHostPort('--listen', text);
}

/** --fabric and --fabric-base as startAgentHost options (ra-spec §8.9.1: 256 ports on a fabric). */
export function parseFabric(
  dir: string | undefined,
  base: string | undefined,
  adapters: number,
): { fabricDir?: string; fabricBase?: number } {
  if (dir === undefined) {
    if (base !== undefined)
      throw new RaError(
        DriverCode.INVALID_ARGUMENT,
        '--fabric-base: needs --fabric DIR (the fabric it numbers)',
      );
    return {};
  }
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new RaError(DriverCode.INVALID_ARGUMENT, `--fabric: ${dir} exists and is not a folder`);
  if (base === undefined) return { fabricDir: dir };
  const fabricBase = parseInteger('--fabric-base', base, 0, Loc.FABRIC_PORTS - adapters);
  return { fabricDir: dir, fabricBase };
}

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description(
      "serve one server's adapters to GRMs over the network (gRPC, mutual TLS); prints " +
        "'agent NAME listening on HOST:PORT' when ready",
    )
    .requiredOption(
      '--server <name>',
      "this server's name: adapter ids are NAME/raN, and the certificate NAME.crt names it",
    )
    .requiredOption('--adapters <n>', 'emulated adapters to start (1..64)')
    .requiredOption('--listen <host:port>', 'address to serve on (port 0: any free port)')
    .requiredOption('--certs <dir>', 'folder made by `rafabric certs`: ca.crt, NAME.crt, NAME.key')
    .option('--memory <bytes>', 'on-card memory per adapter (e.g. 8G)', '8G')
    .option('--zone <name>', 'fabric zone of this server, an attribute of its adapters (default: "default")')
    .option(
      '--qemu-guest <backend>',
      "inside a QEMU guest (qemu/README.md): open the guest's RAs through pci or vfio, no device model",
    )
    .option(
      '--etcd <urls>',
      'register in etcd (http://HOST:PORT[,...]) under a lease, so `serve --etcd --agents-from-etcd` finds this agent',
    )
    .option(
      '--dir <dir>',
      'keep the device model here: it outlives the agent and a restarted agent takes it over',
    )
    .option(
      '--fabric <dir>',
      "fabric directory shared with the other servers' models: DMA reaches their adapters (ra-spec §8.9)",
    )
    .option(
      '--fabric-base <port>',
      "with --fabric: this server's first fabric port (0..255; default: the lowest free ports)",
    )
    .action(async (o: Record<string, string>) => {
      const server = o.server!;
      if (!MEMBER_NAME.test(server))
        throw new RaError(
          DriverCode.INVALID_ARGUMENT,
          `--server: '${server.slice(0, 80)}' is not a valid name (a DNS name: letters, digits, '-', '.')`,
        );
      const adapters = parseInteger('--adapters', o.adapters!, 1, 64);
      const { host, port } = parseListen(o.listen!);
      const memoryBytes = parseSize('--memory', o.memory!);
      if (!existsSync(o.certs!) || !statSync(o.certs!).isDirectory())
        throw new RaError(
          DriverCode.INVALID_ARGUMENT,
          `--certs: ${o.certs} is not a folder; make one with \`rafabric certs --dir ${o.certs} --agents ${server}\``,
        );
      if (o.dir !== undefined && existsSync(o.dir) && !statSync(o.dir).isDirectory())
        throw new RaError(DriverCode.INVALID_ARGUMENT, `--dir: ${o.dir} exists and is not a folder`);
      const fabric = parseFabric(o.fabric, o.fabricBase, adapters);
      const etcdEndpoints = o.etcd === undefined ? undefined : parseEtcdFlag(o.etcd);
      const tls = readTls(o.certs!, server);
      // Handlers first: a stop signal that arrives while the agent starts must end it cleanly (exit 0
      // once ready), never by the default action that would leave the device model half handed over.
      // They stay installed: a second signal while the agent stops is absorbed, not fatal.
      const stopSignal = new Promise<string>((resolve) => {
        process.on('SIGTERM', () => resolve('SIGTERM'));
        process.on('SIGINT', () => resolve('SIGINT'));
      });
      if (o.qemuGuest !== undefined) {
        await runGuestAgent({ server, adapters, host, port, tls, backend: o.qemuGuest }, stopSignal);
        return;
      }
      // Loaded here: gRPC is not worth its start-up time to every other command.
      const { startAgentHost } = await import('../../agent/host.js');
      const host_ = await startAgentHost({
        server,
        adapters,
        memoryBytes,
        host,
        port,
        tls,
        ...(o.dir !== undefined ? { stateDir: o.dir } : {}),
        ...(o.zone !== undefined ? { zone: o.zone } : {}),
        ...fabric,
        onCallError: (method, err) => log.warn({ method, code: err.code, err: err.message }, 'call refused'),
      });
      log.info(
        {
          server,
          adapters,
          modelDir: host_.modelDir,
          modelPid: host_.model?.pid,
          reusedModel: host_.reusedModel,
          instance: host_.rpc.instance,
        },
        host_.reusedModel ? 'took over the running device model' : 'device model started',
      );
      // Registered once it serves (docs/cluster.md, "Agents in etcd"); the lease goes with the process.
      const address = `${host.includes(':') ? `[${host}]` : host}:${host_.rpc.port}`;
      let registration: { stop(): Promise<void> } | undefined;
      try {
        if (etcdEndpoints !== undefined)
          registration = await (await import('../../store/etcd-agents.js')).registerAgent({
            endpoints: etcdEndpoints ?? [],
            registration: { server, address },
          });
      } catch (err) {
        await host_.stop();
        throw err;
      }
      process.stdout.write(
        `agent ${server} listening on ${host.includes(':') ? `[${host}]` : host}:${host_.rpc.port}\n`,
      );
      const signal = await stopSignal;
      log.info({ signal, keepsModel: o.dir !== undefined }, 'agent stopping');
      await registration?.stop();
      await host_.stop();
    });
}

/** --etcd checked before anything starts: a malformed URL is the flag's refusal, not an unreachable etcd. */
function parseEtcdFlag(text: string): string[] {
  try {
    return checkEtcdEndpoints(text.split(',').map((url) => url.trim()));
  } catch (err) {
    throw new RaError(DriverCode.INVALID_ARGUMENT, `--etcd: ${(err as Error).message}`);
  }
}

/** `agent --qemu-guest`: the agent of a QEMU guest's adapters (src/modes/qemu/guest-agent.ts). */
async function runGuestAgent(
  o: { server: string; adapters: number; host: string; port: number; tls: TlsFiles; backend: string },
  stopSignal: Promise<string>,
): Promise<void> {
  if (o.backend !== 'pci' && o.backend !== 'vfio')
    throw new RaError(DriverCode.INVALID_ARGUMENT, `--qemu-guest: '${o.backend}' is not pci or vfio`);
  const { startGuestAgent } = await import('../../modes/qemu/guest-agent.js');
  const guest = await startGuestAgent({
    ...o,
    backend: o.backend,
    onCallError: (method, err) => log.warn({ method, code: err.code, err: err.message }, 'call refused'),
    progress: (line) => log.info(line),
  });
  process.stdout.write(`agent ${o.server} listening on ${o.host}:${guest.rpc.port}\n`);
  const signal = await stopSignal;
  log.info({ signal }, 'agent stopping');
  await guest.stop();
}
