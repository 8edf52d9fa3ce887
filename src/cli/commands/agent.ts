// `rafabric agent`: one server's agent as a network service (docs/cluster.md): its own device
// model, its adapters, and the agent protocol over gRPC with mutual TLS, until SIGTERM or SIGINT.
import { existsSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { MEMBER_NAME, readTls } from '../../agent/rpc/tls.js';
import { DriverCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import { parseInteger, parseSize } from '../parse.js';

/** "127.0.0.1:7480", "[::1]:0", "localhost:7480" -> host and port (0: any free port). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const host = m ? (m[1] ?? m[2]!) : '';
  if (
    !m ||
    (m[1] !== undefined && isIP(host) !== 6) ||
    (m[2] !== undefined && isIP(host) === 0 && !MEMBER_NAME.test(host))
  )
    throw new RaError(
      DriverCode.INVALID_ARGUMENT,
      `--listen: '${text}' is not HOST:PORT (examples: 127.0.0.1:7480, [::1]:7480, 0.0.0.0:0 for any free port)`,
    );
  return { host, port: parseInteger('--listen port', m[3]!, 0, 65535) };
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
    .option(
      '--etcd <urls>',
      'register in etcd (http://HOST:PORT[,...]) under a lease, so `serve --etcd --agents-from-etcd` finds this agent',
    )
    .option(
      '--dir <dir>',
      'keep the device model here: it outlives the agent and a restarted agent takes it over',
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
      const tls = readTls(o.certs!, server);
      // Handlers first: a stop signal that arrives while the agent starts must end it cleanly (exit 0
      // once ready), never by the default action that would leave the device model half handed over.
      const stopSignal = new Promise<string>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
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
        if (o.etcd !== undefined)
          registration = await (await import('../../store/etcd-agents.js')).registerAgent({
            endpoints: o.etcd.split(',').map((url) => url.trim()),
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
