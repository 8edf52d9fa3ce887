// `rafabric certs`: a cluster CA and certificates signed by it, checked with node:crypto (not with
// the openssl that made them): chain, names, key pairs, file modes; reuse of an existing CA; refusals.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'certs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const cert = (dir: string, name: string) => new X509Certificate(readFileSync(path.join(dir, `${name}.crt`)));

describe('rafabric certs', () => {
  const dir = path.join(work, 'cluster');

  it('makes a CA and a certificate per agent and for the GRM, each signed by the CA', () => {
    const r = cli(['certs', '--dir', dir, '--agents', 'server1,server2', '--grm', 'grm-a']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/cluster CA: .*ca\.crt \(made\)/);
    const ca = cert(dir, 'ca');
    expect(ca.ca).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true); // self-signed
    for (const name of ['server1', 'server2', 'grm-a']) {
      const c = cert(dir, name);
      expect(c.ca).toBe(false);
      expect(c.checkIssued(ca)).toBe(true);
      expect(c.verify(ca.publicKey)).toBe(true);
      expect(c.subjectAltName).toBe(`DNS:${name}`);
      expect(c.checkHost(name)).toBe(name);
      expect(c.checkHost('server3')).toBeUndefined();
      const key = createPrivateKey(readFileSync(path.join(dir, `${name}.key`)));
      expect(c.checkPrivateKey(key)).toBe(true);
      expect(statSync(path.join(dir, `${name}.key`)).mode & 0o077).toBe(0); // private to its owner
    }
    expect(statSync(path.join(dir, 'ca.key')).mode & 0o077).toBe(0);
    expect(cert(dir, 'server1').serialNumber).not.toBe(cert(dir, 'server2').serialNumber);
  });

  it('reuses an existing CA for new members and keeps certificates that exist', () => {
    const before = readFileSync(path.join(dir, 'server1.crt'), 'utf8');
    const caBefore = readFileSync(path.join(dir, 'ca.crt'), 'utf8');
    const r = cli(['certs', '--dir', dir, '--agents', 'server1,server3']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/existing, reused/);
    expect(r.stdout).toMatch(/server1: certificate exists, kept/);
    expect(readFileSync(path.join(dir, 'server1.crt'), 'utf8')).toBe(before);
    expect(readFileSync(path.join(dir, 'ca.crt'), 'utf8')).toBe(caBefore);
    expect(cert(dir, 'server3').verify(cert(dir, 'ca').publicKey)).toBe(true);
  });

  it('two folders make two CAs that do not vouch for each other', () => {
    const other = path.join(work, 'other');
    expect(cli(['certs', '--dir', other, '--agents', 'server1']).status).toBe(0);
    expect(cert(other, 'server1').verify(cert(dir, 'ca').publicKey)).toBe(false);
    expect(cert(other, 'ca').subject).not.toBe(cert(dir, 'ca').subject);
  });

  it.each([
    [['--agents', 'bad_name'], /'bad_name' is not a valid member name/],
    [['--agents', 'a,a'], /'a' is named twice/],
    [['--agents', 'ca'], /'ca' is reserved/],
    [['--agents', 'x', '--grm', 'x'], /'x' is named twice/],
    [['--agents', '-rf'], /not a valid member name/],
  ])('refuses %j and writes nothing', (args, message) => {
    const target = path.join(work, `refused-${Math.random().toString(16).slice(2)}`);
    const r = cli(['certs', '--dir', target, ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(target)).toBe(false);
  });

  it('refuses a --dir that is a file', () => {
    const file = path.join(work, 'a-file');
    writeFileSync(file, 'not a folder');
    const r = cli(['certs', '--dir', file, '--agents', 's1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--dir: .*a-file exists and is not a folder/);
    expect(readFileSync(file, 'utf8')).toBe('not a folder');
  });

  it('fails clearly when openssl is not installed, and writes nothing', () => {
    const target = path.join(work, 'no-openssl');
    const r = cli(['certs', '--dir', target, '--agents', 's1'], { PATH: path.join(work, 'empty-path') });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /the 'openssl' command is needed .* install it .*docs\/cluster\.md.*\[AGENT_OPENSSL_MISSING\]/,
    );
    expect(existsSync(target) ? readdirSync(target) : []).toEqual([]);
  });
});
