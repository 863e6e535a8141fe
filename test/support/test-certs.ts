/**
 * A throwaway PKI for HTTPS tests, made with the `openssl` CLI: a CA, a server certificate for
 * 127.0.0.1/localhost, and client certificates with CN = name and OU = role (the shape
 * `tramway security init` writes: ca.crt, server.crt/.key, clients/<name>.crt/.key).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** `clients/<name>.crt` and `.key` */
  client(name: string): { readonly certFile: string; readonly keyFile: string };
  /** PEM text of a file of the PKI */
  pem(file: string): string;
}

const openssl = (args: readonly string[], cwd: string): void => {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
};

const keyAndCsr = (cwd: string, base: string, subject: string): void =>
  openssl(
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat([
      '-keyout',
      `${base}.key`,
      '-out',
      `${base}.csr`,
      '-subj',
      subject,
    ]),
    cwd,
  );

const sign = (cwd: string, base: string, ca: string, ext: string): void => {
  writeFileSync(join(cwd, `${base}.ext`), ext);
  openssl(
    ['x509', '-req', '-in', `${base}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`].concat([
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      `${base}.crt`,
      '-extfile',
      `${base}.ext`,
    ]),
    cwd,
  );
};

const makeCa = (dir: string, name: string): void =>
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat([
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]),
    dir,
  );

/**
 * Makes the PKI in `dir`: `ca`, the server, and one client per `clients` entry
 * ({ name: role }); `other-ca` signs `clients/<name>.crt` for every name in `foreign`.
 */
export const makeTestPki = (
  dir: string,
  clients: Readonly<Record<string, string>>,
  foreign: Readonly<Record<string, string>> = {},
): TestPki => {
  mkdirSync(join(dir, 'clients'), { recursive: true });
  makeCa(dir, 'ca');
  keyAndCsr(dir, 'server', '/CN=tramway-coordinator');
  sign(
    dir,
    'server',
    'ca',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  const client = (ca: string, name: string, role: string): void => {
    keyAndCsr(dir, `clients/${name}`, `/CN=${name}/OU=${role}`);
    sign(dir, `clients/${name}`, ca, 'extendedKeyUsage=clientAuth\n');
  };
  for (const [name, role] of Object.entries(clients)) client('ca', name, role);
  if (Object.keys(foreign).length > 0) {
    makeCa(dir, 'other-ca');
    for (const [name, role] of Object.entries(foreign)) client('other-ca', name, role);
  }
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    client: (name) => ({
      certFile: join(dir, 'clients', `${name}.crt`),
      keyFile: join(dir, 'clients', `${name}.key`),
    }),
    pem: (file) => readFileSync(file, 'utf8'),
  };
};
