// The mutual-TLS material of one cluster member, read from a certificates folder made by
// `rafabric certs`: DIR/ca.crt (the cluster CA, which every peer's certificate must chain to) and
// DIR/<name>.crt + DIR/<name>.key (this member's own certificate and key).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DriverCode } from '../../common/codes.js';
import { RaError } from '../../common/errors.js';

export interface TlsFiles {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export const CA_CERT_FILE = 'ca.crt';
export const CA_KEY_FILE = 'ca.key';
export const certFile = (name: string) => `${name}.crt`;
export const keyFile = (name: string) => `${name}.key`;

/** Member names are DNS names: they go into the certificates' subjectAltName. */
export const MEMBER_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function readTls(dir: string, name: string): TlsFiles {
  const files = [CA_CERT_FILE, certFile(name), keyFile(name)].map((f) => path.join(dir, f));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0)
    throw new RaError(
      DriverCode.INVALID_ARGUMENT,
      `certificates for '${name}' missing: ${missing.join(', ')}; make them with ` +
        `\`rafabric certs --dir ${dir} --agents ${name}\` (or --grm ${name})`,
    );
  const [ca, cert, key] = files.map((f) => readFileSync(f)) as [Buffer, Buffer, Buffer];
  return { ca, cert, key };
}
