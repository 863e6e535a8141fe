/**
 * The coordinator's configuration (STYLE.md §11): parsed once from the environment, every bad
 * key listed, frozen.
 */
import { z } from 'zod';
import type { NatsCredentials } from '@tramway/shared/infra';
import { AppError, natsCredentialsOf } from '@tramway/shared/infra';

const CONFIG_SCHEMA = z.object({
  NATS_URL: z.string().min(1).optional(),
  STORE: z.enum(['sqlite', 'jetstream']).default('sqlite'),
  SQLITE_PATH: z.string().min(1).default('./coordinator.sqlite'),
  /** NORMAL (default) or FULL: what an accepted request survives (README "What an accepted (202) request guarantees") */
  SQLITE_SYNCHRONOUS: z
    .string()
    .transform((v) => v.toUpperCase())
    .pipe(z.enum(['NORMAL', 'FULL'], { message: "'normal' or 'full'" }))
    .default('NORMAL'),
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  /** the API's port: 7070, the CLI's default URL (`0`: a free port) */
  HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(7070),
  STALE_AFTER_MS: z.coerce.number().int().positive().default(15_000),
  TICK_MS: z.coerce.number().int().min(0).default(1000),
  DRIFT_INTERVAL_MS: z.coerce.number().int().min(0).default(30_000),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** `json` (lines), `pretty` (readable), `auto` (default: pretty on a terminal, else JSON) */
  TRAMWAY_LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  /** where the coordinator keeps its own files: `admin.token` (docs/security.md) */
  DATA_DIR: z.string().min(1).default('.tramway'),
  /**
   * SQLite file of the audit read model (`GET /v1/audit/...`): default the log's own file with
   * STORE=sqlite, `<DATA_DIR>/audit-read-model.sqlite` with STORE=jetstream
   */
  AUDIT_READ_MODEL: z.string().min(1).optional(),
  /** Host names the API answers to besides loopback and HTTP_HOST, comma-separated */
  HTTP_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((h) => h.trim())
        .filter((h) => h !== ''),
    )
    .refine(
      (hosts) => hosts.every((h) => /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(h)),
      'comma-separated host names, each `name` or `name:port` (IPv6 in brackets)',
    ),
  /** requests per second per credential, and the burst (token bucket) */
  HTTP_RATE_PER_SEC: z.coerce.number().positive().default(50),
  HTTP_RATE_BURST: z.coerce.number().int().positive().default(100),
  /** failed authentications per second per remote address, and the burst */
  HTTP_AUTH_FAILURES_PER_SEC: z.coerce.number().positive().default(1),
  HTTP_AUTH_FAILURES_BURST: z.coerce.number().int().positive().default(20),
  /** HTTPS: server certificate and key (PEM files); both or neither */
  TRAMWAY_API_TLS_CERT: z.string().min(1).optional(),
  TRAMWAY_API_TLS_KEY: z.string().min(1).optional(),
  /** CA of client certificates (CN = name, OU = role), with HTTPS */
  TRAMWAY_API_CLIENT_CA: z.string().min(1).optional(),
  /** the security directory (`tramway security init`): coordinator.nk and ca.crt by default */
  TRAMWAY_SECURITY_DIR: z.string().min(1).optional(),
  /** the coordinator's NKey seed file (overrides the security directory's) */
  TRAMWAY_NATS_NKEY_FILE: z.string().min(1).optional(),
  /** the CA of the NATS server's certificate: TLS on (overrides the security directory's) */
  TRAMWAY_NATS_CA_FILE: z.string().min(1).optional(),
  /** the assignment signing key (PKCS8 PEM); default `<TRAMWAY_SECURITY_DIR>/assignment-signing.key` */
  TRAMWAY_ASSIGNMENT_SIGNING_KEY: z.string().min(1).optional(),
  /**
   * `auto` (default): every node is approved as it registers; `manual`: every node waits as
   * pending for `tramway node approve`; with a node registry (`<TRAMWAY_SECURITY_DIR>/nodes.json`)
   * its `autoApprove` decides for the nodes it lists
   */
  TRAMWAY_ADMISSION: z.enum(['auto', 'manual']).default('auto'),
});

/** `KEY="value": why` (the value as given, cut at 80 characters) for each bad key */
const listIssues = (error: z.ZodError, env: Readonly<Record<string, string | undefined>>) =>
  error.issues.map((i) => {
    const key = i.path.map(String).join('.');
    const value = key === '' ? undefined : env[key];
    return `${key || '(env)'}${value === undefined ? '' : `=${JSON.stringify(value.slice(0, 80))}`}: ${i.message}`;
  });

export type CoordinatorConfig = Readonly<z.infer<typeof CONFIG_SCHEMA>>;

export class InvalidConfigError extends AppError {
  override readonly name = 'InvalidConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`, {
      code: 'InvalidConfig',
      retryable: false,
    });
    this.problems = problems;
  }
}

/** Throws `InvalidConfigError` listing every bad key. */
export const loadConfig = (
  env: Readonly<Record<string, string | undefined>>,
): CoordinatorConfig => {
  const parsed = CONFIG_SCHEMA.safeParse(env);
  const problems = parsed.success ? [] : listIssues(parsed.error, env);
  if (env['STORE'] === 'jetstream' && (env['NATS_URL'] ?? '') === '') {
    problems.push('NATS_URL: required when STORE=jetstream');
  }
  if ((env['TRAMWAY_API_TLS_CERT'] === undefined) !== (env['TRAMWAY_API_TLS_KEY'] === undefined)) {
    problems.push('TRAMWAY_API_TLS_CERT, TRAMWAY_API_TLS_KEY: give both or neither');
  }
  if (env['TRAMWAY_API_CLIENT_CA'] !== undefined && env['TRAMWAY_API_TLS_CERT'] === undefined) {
    problems.push('TRAMWAY_API_CLIENT_CA: needs TRAMWAY_API_TLS_CERT and TRAMWAY_API_TLS_KEY');
  }
  if (!parsed.success || problems.length > 0) throw new InvalidConfigError(problems);
  return Object.freeze(parsed.data);
};

/**
 * The coordinator's NATS identity: the seed and CA files named, else those of the security
 * directory; undefined when neither is set (a plain server: dev and bench only).
 */
export const coordinatorNatsCredentials = (
  config: CoordinatorConfig,
): NatsCredentials | undefined => {
  const fromDir =
    config.TRAMWAY_SECURITY_DIR === undefined
      ? {}
      : natsCredentialsOf(config.TRAMWAY_SECURITY_DIR, { coordinator: true });
  const credentials: NatsCredentials = {
    ...fromDir,
    ...(config.TRAMWAY_NATS_NKEY_FILE === undefined
      ? {}
      : { nkeySeedFile: config.TRAMWAY_NATS_NKEY_FILE }),
    ...(config.TRAMWAY_NATS_CA_FILE === undefined ? {} : { caFile: config.TRAMWAY_NATS_CA_FILE }),
  };
  return Object.keys(credentials).length === 0 ? undefined : credentials;
};
