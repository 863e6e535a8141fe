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
  HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  STALE_AFTER_MS: z.coerce.number().int().positive().default(15_000),
  TICK_MS: z.coerce.number().int().min(0).default(1000),
  DRIFT_INTERVAL_MS: z.coerce.number().int().min(0).default(30_000),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
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

const listIssues = (error: z.ZodError): string[] =>
  error.issues.map((i) => `${i.path.map(String).join('.') || '(env)'}: ${i.message}`);

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
  const problems = parsed.success ? [] : listIssues(parsed.error);
  if (env['STORE'] === 'jetstream' && (env['NATS_URL'] ?? '') === '') {
    problems.push('NATS_URL: required when STORE=jetstream');
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
