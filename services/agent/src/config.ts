/**
 * The agent's configuration, parsed once from the environment (STYLE.md §11) into a frozen
 * object. Every bad key is listed in one `InvalidConfigError`.
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ASSIGNMENT_VERIFY_KEY_FILE, assignmentKeyFile } from '@tramway/shared/infra';
import type { NatsCredentials } from '@tramway/shared/infra';
import { natsCredentialsOf, nodeInboxPrefix } from '@tramway/shared/infra';

/** The bundled sim kernel spec used when SIM_KERNEL is not set. */
export const DEFAULT_SIM_KERNEL = fileURLToPath(
  new URL('../sim-kernels/default.yaml', import.meta.url),
);

/** Where METRICS_PORT binds: loopback, for a scraper on the node (no credentials). */
export const METRICS_DEFAULT_HOST = '127.0.0.1';

export interface AgentConfig {
  readonly nodeId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly natsUrl: string;
  /**
   * the node's NATS identity (seed file, CA: TLS) and its inbox prefix `_INBOX_<id>`; from
   * TRAMWAY_SECURITY_DIR (nodes/<id>.nk, ca.crt), TRAMWAY_NATS_NKEY_FILE, TRAMWAY_NATS_CA_FILE
   */
  readonly natsCredentials: NatsCredentials;
  /** the security directory, when given (assignment-signing.pub is there) */
  readonly securityDir: string | undefined;
  readonly stateDir: string | undefined;
  readonly heartbeatMs: number;
  /**
   * KERNEL (or `--driver <name>`): `sim` the model on a spec file, `host` the model on the
   * host's BTF (shadow), `bpf` the real kernel through bpf() (README: "Running on a real node")
   */
  readonly kernel: 'sim' | 'host' | 'bpf';
  /** BPFFS (KERNEL=bpf): where bpffs is, mounted there when absent; default /sys/fs/bpf */
  readonly bpffs: string | undefined;
  readonly simKernel: string;
  /** SIM_MULTI_LINK (`true`/`false`): overrides the sim kernel file's `multiLink`; unset: the file decides */
  readonly simMultiLink: boolean | undefined;
  /** file-system root of the host facts (KERNEL=host); default `/` */
  readonly hostRoot: string | undefined;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** TRAMWAY_LOG_FORMAT: `json`, `pretty`, or `auto` (pretty on a terminal, else JSON) */
  readonly logFormat: 'auto' | 'json' | 'pretty';
  /**
   * the coordinator's assignment verify key (SPKI PEM): TRAMWAY_ASSIGNMENT_VERIFY_KEY, else
   * `<TRAMWAY_SECURITY_DIR>/assignment-signing.pub`; none: the agent does not start unless
   * `insecureUnsignedAssignments`
   */
  readonly assignmentVerifyKeyFile: string | undefined;
  /** TRAMWAY_INSECURE_UNSIGNED_ASSIGNMENTS=true or `--insecure-unsigned-assignments` (dev only) */
  readonly insecureUnsignedAssignments: boolean;
  /**
   * TEST ONLY (TRAMWAY_TEST_CRASH_AFTER): the agent SIGKILLs itself right after the kernel
   * accepted this attach step, before saving or reporting it (the crash-recovery tests)
   */
  readonly testCrashAfter: 'link-created' | 'link-pinned' | undefined;
  /**
   * where `GET /metrics` is served (docs/metrics.md): TRAMWAY_METRICS_LISTEN (`host:port`,
   * `[v6]:port`) or METRICS_PORT (on 127.0.0.1); undefined (the default): not served
   */
  readonly metricsListen: { readonly host: string; readonly port: number } | undefined;
}

export class InvalidConfigError extends Error {
  override readonly name = 'InvalidConfigError';
  readonly code = 'InvalidConfig';
  readonly retryable = false;
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid agent configuration:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

const LABEL_PART = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;

/** `k=v,k=v` -> record; problems name the offending pair. */
const parseLabels = (text: string, ctx: z.RefinementCtx): Record<string, string> => {
  const labels: Record<string, string> = {};
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (
      eq < 0 ||
      !LABEL_PART.test(key) ||
      (value !== '' && !LABEL_PART.test(value)) ||
      key === '__proto__'
    )
      ctx.addIssue({
        code: 'custom',
        message: `'${pair}' is not key=value (letters, digits, -_./)`,
      });
    else labels[key] = value;
  }
  return labels;
};

/** `host:port` or `[v6]:port` -> its parts; the problem names what is wrong. */
const parseListen = (
  text: string,
  ctx: z.RefinementCtx,
): { host: string; port: number } | typeof z.NEVER => {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || port > 65535) {
    ctx.addIssue({
      code: 'custom',
      message: `'${text}' is not host:port (e.g. 127.0.0.1:9464, [::1]:9464, 0.0.0.0:9464)`,
    });
    return z.NEVER;
  }
  return { host: m[1] ?? m[2]!, port };
};

const SCHEMA = z.object({
  NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_:@-]+$/, 'letters, digits and _:@- only (one NATS subject token)')
    .refine((id) => id !== '__proto__', '__proto__ is not a node id'),
  NODE_LABELS: z.string().default('').transform(parseLabels),
  NATS_URL: z
    .string()
    .regex(/^(nats|tls|ws|wss):\/\/\S+$/, 'a nats:// URL')
    .default('nats://127.0.0.1:4222'),
  STATE_DIR: z.string().min(1).optional(),
  HEARTBEAT_MS: z.coerce.number().int().min(10).max(3_600_000).default(5000),
  KERNEL: z.enum(['sim', 'host', 'bpf']).default('sim'),
  KERNEL_DRIVER: z.enum(['sim', 'host', 'bpf']).optional(),
  BPFFS: z
    .string()
    .regex(/^\/[^\0]*$/, 'an absolute path')
    .optional(),
  SIM_KERNEL: z.string().min(1).default(DEFAULT_SIM_KERNEL),
  SIM_MULTI_LINK: z
    .enum(['true', 'false'], { message: "'true' or 'false'" })
    .transform((v) => v === 'true')
    .optional(),
  HOST_ROOT: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  TRAMWAY_LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  TRAMWAY_TEST_CRASH_AFTER: z.enum(['link-created', 'link-pinned']).optional(),
  TRAMWAY_SECURITY_DIR: z.string().min(1).optional(),
  TRAMWAY_NATS_NKEY_FILE: z.string().min(1).optional(),
  TRAMWAY_NATS_CA_FILE: z.string().min(1).optional(),
  TRAMWAY_ASSIGNMENT_VERIFY_KEY: z.string().min(1).optional(),
  TRAMWAY_METRICS_LISTEN: z.string().transform(parseListen).optional(),
  METRICS_PORT: z.coerce
    .number({ message: 'a port number' })
    .int('a port number')
    .min(0, 'a port from 0 (any free port) to 65535')
    .max(65535, 'a port from 0 (any free port) to 65535')
    .optional(),
  TRAMWAY_INSECURE_UNSIGNED_ASSIGNMENTS: z
    .enum(['true', 'false'], { message: "'true' or 'false'" })
    .transform((v) => v === 'true')
    .optional(),
});

/** Parses `env` once; throws `InvalidConfigError` listing every bad key. */
export const loadConfig = (
  env: Readonly<Record<string, string | undefined>>,
  argv: readonly string[] = [],
): AgentConfig => {
  const blank = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  // `--driver <name>` wins over KERNEL_DRIVER, which wins over KERNEL
  const flag = argv.indexOf('--driver');
  if (flag >= 0) blank.KERNEL_DRIVER = argv[flag + 1] ?? '';
  const parsed = SCHEMA.safeParse(blank);
  if (!parsed.success)
    throw new InvalidConfigError(
      parsed.error.issues.map((i) => {
        const key = i.path.join('.');
        const value = key === '' ? undefined : blank[key];
        // the value as given (cut at 80 characters), so the line says what was wrong
        return `${key || '(env)'}${value === undefined ? '' : `=${JSON.stringify(value.slice(0, 80))}`}: ${i.message}`;
      }),
    );
  const c = parsed.data;
  if (c.TRAMWAY_METRICS_LISTEN !== undefined && c.METRICS_PORT !== undefined)
    throw new InvalidConfigError([
      'METRICS_PORT: set either TRAMWAY_METRICS_LISTEN (host:port) or METRICS_PORT (port on 127.0.0.1), not both',
    ]);
  const natsCredentials: NatsCredentials = Object.freeze({
    ...(c.TRAMWAY_SECURITY_DIR === undefined
      ? {}
      : natsCredentialsOf(c.TRAMWAY_SECURITY_DIR, { nodeId: c.NODE_ID })),
    ...(c.TRAMWAY_NATS_NKEY_FILE === undefined ? {} : { nkeySeedFile: c.TRAMWAY_NATS_NKEY_FILE }),
    ...(c.TRAMWAY_NATS_CA_FILE === undefined ? {} : { caFile: c.TRAMWAY_NATS_CA_FILE }),
    inboxPrefix: nodeInboxPrefix(c.NODE_ID),
  });
  return Object.freeze({
    nodeId: c.NODE_ID,
    labels: Object.freeze(c.NODE_LABELS),
    natsUrl: c.NATS_URL,
    natsCredentials,
    securityDir: c.TRAMWAY_SECURITY_DIR,
    stateDir: c.STATE_DIR,
    heartbeatMs: c.HEARTBEAT_MS,
    kernel: c.KERNEL_DRIVER ?? c.KERNEL,
    bpffs: c.BPFFS,
    simKernel: c.SIM_KERNEL,
    simMultiLink: c.SIM_MULTI_LINK,
    hostRoot: c.HOST_ROOT,
    logLevel: c.LOG_LEVEL,
    logFormat: c.TRAMWAY_LOG_FORMAT,
    assignmentVerifyKeyFile: assignmentKeyFile(
      c.TRAMWAY_ASSIGNMENT_VERIFY_KEY,
      c.TRAMWAY_SECURITY_DIR,
      ASSIGNMENT_VERIFY_KEY_FILE,
    ),
    insecureUnsignedAssignments:
      c.TRAMWAY_INSECURE_UNSIGNED_ASSIGNMENTS === true ||
      argv.includes('--insecure-unsigned-assignments'),
    testCrashAfter: c.TRAMWAY_TEST_CRASH_AFTER,
    metricsListen:
      c.TRAMWAY_METRICS_LISTEN ??
      (c.METRICS_PORT === undefined
        ? undefined
        : Object.freeze({ host: METRICS_DEFAULT_HOST, port: c.METRICS_PORT })),
  });
};
