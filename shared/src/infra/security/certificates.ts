/**
 * X.509 material of a Tramway installation, made with `@peculiar/x509` over node's WebCrypto:
 * a self-signed CA, server certificates (nats-server, the coordinator's HTTPS API) and client
 * certificates of people (mTLS on the HTTP API: CN = identity name, OU = role). Keys are ECDSA
 * P-256 (fast to make, accepted by Go's and node's TLS); everything is written as PEM.
 */
import 'reflect-metadata';
import { webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

// node's WebCrypto is the standard `Crypto` (the types differ only in name)
x509.cryptoProvider.set('default', webcrypto as Parameters<typeof x509.cryptoProvider.set>[1]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** a certificate is valid from a little before it is made (clock skew between hosts) */
const BACKDATE_MS = 5 * 60_000;

/** A certificate and its private key, both PEM. */
export interface CertificatePem {
  readonly certPem: string;
  readonly keyPem: string;
}

/** The CA as loaded back, able to sign. */
export interface CertificateAuthority extends CertificatePem {
  readonly certificate: x509.X509Certificate;
  readonly privateKey: CryptoKey;
}

/** The names a server certificate always carries (loopback), before the ones asked for. */
export const LOOPBACK_NAMES: readonly string[] = ['127.0.0.1', '::1', 'localhost'];

const newKeys = async (): Promise<CryptoKeyPair> =>
  (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;

const privateKeyPem = async (key: CryptoKey): Promise<string> =>
  x509.PemConverter.encode(
    (await webcrypto.subtle.exportKey('pkcs8', key)) as ArrayBuffer,
    'PRIVATE KEY',
  );

/** 16 random bytes as hex, first bit clear (a positive serial number, RFC 5280 §4.1.2.2). */
const serialNumber = (): string => {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
};

/** One RDN value, escaped for the `CN=...` string syntax (RFC 4514). */
const rdn = (value: string): string => value.replace(/([,+"\\<>;=])/g, '\\$1');

const validity = (now: Date, days: number) => ({
  notBefore: new Date(now.getTime() - BACKDATE_MS),
  notAfter: new Date(now.getTime() + days * DAY_MS),
});

/** Creates a self-signed CA (may sign end-entity certificates only: path length 0). */
export const createCertificateAuthority = async ({
  name = 'Tramway CA',
  now = new Date(),
  days = 3650,
}: { name?: string; now?: Date; days?: number } = {}): Promise<CertificateAuthority> => {
  const keys = await newKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${rdn(name)}, O=Tramway`,
    ...validity(now, days),
    signingAlgorithm: KEY_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certificate,
    privateKey: keys.privateKey,
    certPem: certificate.toString('pem'),
    keyPem: await privateKeyPem(keys.privateKey),
  };
};

/** Loads a CA written by `createCertificateAuthority` (PEM certificate and PKCS#8 key). */
export const loadCertificateAuthority = async (
  certPem: string,
  keyPem: string,
): Promise<CertificateAuthority> => {
  const certificate = new x509.X509Certificate(certPem);
  const privateKey = await webcrypto.subtle.importKey(
    'pkcs8',
    x509.PemConverter.decodeFirst(keyPem),
    KEY_ALGORITHM,
    true,
    ['sign'],
  );
  return { certificate, privateKey, certPem, keyPem };
};

const issue = async (
  ca: CertificateAuthority,
  subject: string,
  usage: x509.ExtendedKeyUsage,
  extra: readonly x509.Extension[],
  now: Date,
  days: number,
): Promise<CertificatePem> => {
  const keys = await newKeys();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject,
    issuer: ca.certificate.subject,
    ...validity(now, days),
    signingAlgorithm: KEY_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([usage]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ...extra,
    ],
  });
  return { certPem: certificate.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
};

/**
 * A server certificate signed by `ca` for 127.0.0.1, ::1, localhost and `names` (IP addresses
 * become IP SANs, anything else a DNS SAN).
 */
export const issueServerCertificate = async (
  ca: CertificateAuthority,
  {
    names = [],
    now = new Date(),
    days = 825,
  }: { names?: readonly string[]; now?: Date; days?: number } = {},
): Promise<CertificatePem> => {
  const all = [...new Set([...LOOPBACK_NAMES, ...names])];
  return issue(
    ca,
    `CN=${rdn(names[0] ?? 'localhost')}, O=Tramway`,
    x509.ExtendedKeyUsage.serverAuth,
    [
      new x509.SubjectAlternativeNameExtension(
        all.map((value) => ({ type: isIP(value) === 0 ? 'dns' : 'ip', value })),
      ),
    ],
    now,
    days,
  );
};

/** A client certificate of a person: CN = `name`, OU = `role` (read by the HTTP API's mTLS). */
export const issueClientCertificate = async (
  ca: CertificateAuthority,
  {
    name,
    role,
    now = new Date(),
    days = 365,
  }: { name: string; role: string; now?: Date; days?: number },
): Promise<CertificatePem> =>
  issue(
    ca,
    `CN=${rdn(name)}, OU=${rdn(role)}, O=Tramway`,
    x509.ExtendedKeyUsage.clientAuth,
    [],
    now,
    days,
  );

/** True when `certPem` was signed by the CA of `caPem` (node's own X.509 check). */
export const isSignedBy = (certPem: string, caPem: string): boolean =>
  new NodeX509Certificate(certPem).verify(new NodeX509Certificate(caPem).publicKey);
