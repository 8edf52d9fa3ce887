// `rafabric certs`: a cluster CA and a certificate for each agent and the GRM, for mutual TLS
// between them. Keys are made by node:crypto (EC P-256); X.509 certificates by the openssl
// command-line tool, which Node cannot do alone. The equivalent openssl lines are in docs/cluster.md.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentCode, CliCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';
import { CA_CERT_FILE, CA_KEY_FILE, certFile, keyFile, MEMBER_NAME } from './tls.js';

export const CA_DAYS = 3650;
export const MEMBER_DAYS = 825;

export interface CertsOptions {
  dir: string;
  agents: readonly string[];
  /** The GRM's certificate name; none when absent. */
  grm?: string;
}

export interface CertsResult {
  ca: { cert: string; made: boolean };
  issued: { name: string; role: 'agent' | 'grm'; cert: string; key: string }[];
  /** Members whose certificate already existed: kept as they are. */
  kept: string[];
}

/** openssl's path, or a clear refusal when it is not installed. */
export function requireOpenssl(command = 'openssl'): string {
  const r = spawnSync(command, ['version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new RaError(
      AgentCode.OPENSSL_MISSING,
      `the '${command}' command is needed to make X.509 certificates and was not found ` +
        `(${r.error?.message ?? r.stderr.trim()}); install it (Debian: apt-get install openssl) or ` +
        'make the files with the openssl lines in docs/cluster.md',
    );
  return command;
}

function run(openssl: string, args: string[]): void {
  const r = spawnSync(openssl, args, { encoding: 'utf8' });
  if (r.status !== 0)
    throw new RaError(
      AgentCode.OPENSSL_FAILED,
      `openssl ${args[0]} failed: ${(r.stderr || r.error?.message || '').trim()}`,
    );
}

function writeKey(file: string): void {
  const { privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  writeFileSync(file, privateKey, { mode: 0o600 });
}

export function validateMembers(o: CertsOptions): void {
  const names = [...o.agents, ...(o.grm !== undefined ? [o.grm] : [])];
  if (names.length === 0)
    throw new RaError(
      CliCode.USAGE,
      'nothing to make: name agents with --agents a,b or the GRM with --grm NAME',
    );
  for (const n of names) {
    if (!MEMBER_NAME.test(n))
      throw new RaError(
        CliCode.USAGE,
        `'${n.slice(0, 80)}' is not a valid member name: use a DNS name (letters, digits, '-', '.'; at most 63 per label)`,
      );
    if (n === 'ca') throw new RaError(CliCode.USAGE, "'ca' is reserved for the cluster CA's files");
  }
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup)
    throw new RaError(CliCode.USAGE, `'${dup}' is named twice; every agent and the GRM need their own name`);
}

/**
 * Makes DIR/ca.{crt,key} (or reuses them: new members join an existing cluster) and
 * DIR/<name>.{crt,key} for each member that has none yet.
 */
export function makeClusterCerts(o: CertsOptions, openssl = requireOpenssl()): CertsResult {
  validateMembers(o);
  if (existsSync(o.dir) && !statSync(o.dir).isDirectory())
    throw new RaError(CliCode.USAGE, `--dir: ${o.dir} exists and is not a folder`);
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const caCert = path.join(o.dir, CA_CERT_FILE);
  const caKey = path.join(o.dir, CA_KEY_FILE);
  if (existsSync(caCert) !== existsSync(caKey))
    throw new RaError(
      AgentCode.CERTS_INCOMPLETE,
      `${o.dir} holds only one of ${CA_CERT_FILE} and ${CA_KEY_FILE}; restore the other or use an empty folder`,
    );
  const result: CertsResult = { ca: { cert: caCert, made: false }, issued: [], kept: [] };
  const work = mkdtempSync(path.join(os.tmpdir(), 'rafabric-certs-'));
  try {
    if (!existsSync(caCert)) {
      writeKey(caKey);
      // A random tag in the name: two clusters' CAs never share a subject.
      run(openssl, [
        'req',
        '-x509',
        '-new',
        '-key',
        caKey,
        '-sha256',
        '-days',
        String(CA_DAYS),
        '-subj',
        `/O=rafabric/CN=rafabric cluster CA ${randomBytes(4).toString('hex')}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE,pathlen:0',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
        '-out',
        caCert,
      ]);
      result.ca.made = true;
    }
    const members = [
      ...o.agents.map((name) => ({ name, role: 'agent' as const })),
      ...(o.grm !== undefined ? [{ name: o.grm, role: 'grm' as const }] : []),
    ];
    for (const { name, role } of members) {
      const cert = path.join(o.dir, certFile(name));
      const key = path.join(o.dir, keyFile(name));
      if (existsSync(cert)) {
        result.kept.push(name);
        continue;
      }
      writeKey(key);
      const csr = path.join(work, `${name}.csr`);
      const ext = path.join(work, `${name}.ext`);
      run(openssl, ['req', '-new', '-key', key, '-subj', `/O=rafabric/OU=${role}/CN=${name}`, '-out', csr]);
      // Both uses: an agent serves the GRM and a GRM replica may serve peers later; the name is the identity.
      writeFileSync(
        ext,
        [
          'basicConstraints=critical,CA:FALSE',
          'keyUsage=critical,digitalSignature',
          'extendedKeyUsage=serverAuth,clientAuth',
          `subjectAltName=DNS:${name}`,
        ].join('\n'),
      );
      run(openssl, [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        caCert,
        '-CAkey',
        caKey,
        '-sha256',
        '-days',
        String(MEMBER_DAYS),
        '-set_serial',
        `0x${randomBytes(16)
          .toString('hex')
          .replace(/^[89a-f]/, '1')}`,
        '-extfile',
        ext,
        '-out',
        cert,
      ]);
      result.issued.push({ name, role, cert, key });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return result;
}
