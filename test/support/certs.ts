/**
 * Certificates made by a test with openssl: a CA and leaf certificates it
 * signs (server: SAN 127.0.0.1 and localhost; client: any name), all in one
 * temp dir the caller removes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/sandbox/processes';

export interface Pki {
  readonly dir: string;
  ca(name: string): Promise<{ cert: string; key: string }>;
  leaf(ca: { cert: string; key: string }, name: string, kind: 'server' | 'client'): Promise<{ cert: string; key: string }>;
  remove(): void;
}

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-pki-'));
  let serial = 1;
  return {
    dir,
    async ca(name) {
      const cert = join(dir, `${name}.pem`);
      const key = join(dir, `${name}-key.pem`);
      await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
      return { cert, key };
    },
    async leaf(ca, name, kind) {
      const cert = join(dir, `${name}.pem`);
      const key = join(dir, `${name}-key.pem`);
      const csr = join(dir, `${name}.csr`);
      const ext = join(dir, `${name}.ext`);
      await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
      const usage = kind === 'server' ? 'serverAuth,clientAuth' : 'clientAuth,serverAuth';
      await run('sh', ['-c', `printf '%s\\n' 'basicConstraints=CA:FALSE' 'extendedKeyUsage=${usage}' 'subjectAltName=IP:127.0.0.1,DNS:localhost' > '${ext}'`]);
      await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(serial++), '-days', '2', '-out', cert, '-extfile', ext]);
      return { cert, key };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
