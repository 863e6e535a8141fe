/**
 * Process helpers of the fleet e2e tests and bench:fleet: the coordinator as its own child process
 * (services/coordinator/src/main.ts with env), agent hosts (fleet-agent-host.ts, N agents in one
 * process), the coordinator's HTTP API and the JetStream log. Every child is stopped by its own
 * handle (by pid), never by name.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsCredentials } from '@tramway/shared/infra';
import { ASSIGNMENT_VERIFY_KEY_FILE, JetStreamEventStore } from '@tramway/shared/infra';
import type { RecordedEvent } from '@tramway/shared/lib';
import type { AgentHostConfig } from './fleet-agent-host.js';
import { testAssignmentKeyFiles } from './assignment-keys.js';
import type { NatsServerHandle } from './nats-server.js';
import { freePort } from './nats-server.js';
import { rawRequest } from './raw-http.js';
import { waitUntil } from './wait-until.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = ['--import', 'tsx', '--conditions=@tramway/source'];

export interface ChildHandle {
  readonly child: ChildProcess;
  /** stdout and stderr so far (for failure messages) */
  output(): string;
  readonly exited: Promise<number | null>;
  /** sends `signal` (default SIGTERM) to this child and resolves once it has exited */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const spawnTsx = (script: string, args: readonly string[], env: Record<string, string>) => {
  const child = spawn(process.execPath, [...TSX, script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (c: Buffer): void => {
    output += c.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const handle: ChildHandle = {
    child,
    output: () => output,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  return handle;
};

export interface CoordinatorHandle extends ChildHandle {
  readonly port: number;
  readonly url: string;
  /** its data dir (DATA_DIR): `admin.token` lives there */
  readonly dataDir: string;
  /** the admin token the coordinator wrote to `<dataDir>/admin.token` */
  readonly token: string;
}

export interface CoordinatorOptions {
  readonly natsUrl: string;
  /** the server's security directory (TRAMWAY_SECURITY_DIR): the coordinator's NKey and CA */
  readonly securityDir?: string | undefined;
  /** keep the same port across a restart */
  readonly port?: number;
  /** keep the same data dir (and admin token) across a restart; default a new temp dir */
  readonly dataDir?: string;
  readonly env?: Record<string, string>;
  readonly readyTimeoutMs?: number;
  /** the API is HTTPS (env TRAMWAY_API_TLS_*): the CA its certificate chains to */
  readonly caFile?: string;
}

/**
 * Spawns the coordinator (JetStream log on `natsUrl`, DATA_DIR `dataDir`) and waits until its
 * API answers to the admin token it writes to `<dataDir>/admin.token`.
 */
export const spawnCoordinator = async (options: CoordinatorOptions): Promise<CoordinatorHandle> => {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tramway-coordinator-'));
  const handle = spawnTsx('services/coordinator/src/main.ts', [], {
    NATS_URL: options.natsUrl,
    STORE: 'jetstream',
    HTTP_PORT: String(port),
    TICK_MS: '50',
    DRIFT_INTERVAL_MS: '0',
    STALE_AFTER_MS: '60000',
    LOG_LEVEL: 'info',
    DATA_DIR: dataDir,
    ...(options.securityDir === undefined ? {} : { TRAMWAY_SECURITY_DIR: options.securityDir }),
    // the security dir's own signing key (as deployed) when there is one, else the tests' key
    ...(options.securityDir === undefined
      ? { TRAMWAY_ASSIGNMENT_SIGNING_KEY: testAssignmentKeyFiles().signingKey }
      : {}),
    ...options.env,
  });
  const url = `${options.caFile === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  const ca = options.caFile === undefined ? undefined : readFileSync(options.caFile, 'utf8');
  const tokenFile = join(dataDir, 'admin.token');
  // waitUntil retries a condition that throws: an exit is returned, then thrown
  const ready = await waitUntil(
    'coordinator serving',
    async () => {
      if (handle.child.exitCode !== null) return 'exited';
      if (!existsSync(tokenFile)) return false;
      const token = readFileSync(tokenFile, 'utf8').trim();
      const answer = await rawRequest(`${url}/v1/nodes`, 'GET', {
        headers: { authorization: `Bearer ${token}` },
        ...(ca === undefined ? {} : { ca }),
      }).catch(() => undefined);
      return answer?.status === 200;
    },
    { timeoutMs: options.readyTimeoutMs ?? 60_000, intervalMs: 100 },
  ).catch(async (error: unknown) => {
    await handle.stop('SIGKILL');
    throw error;
  });
  if (ready === 'exited') throw new Error(`coordinator exited: ${handle.output()}`);
  return { ...handle, port, url, dataDir, token: readFileSync(tokenFile, 'utf8').trim() };
};

export interface AgentHostHandle extends ChildHandle {
  readonly nodeIds: readonly string[];
  /** ms the host took to start its agents (its own measure) */
  readonly startMs: number;
}

/**
 * Writes `config` next to `configFile` and spawns an agent host on it; resolves once every agent
 * has started (rejects with the host's error otherwise). With a secured `nats`, its agents are
 * given their node identities first (the server reloads) and connect with them.
 */
export const spawnAgentHost = async (
  configFile: string,
  hostConfig: AgentHostConfig,
  {
    readyTimeoutMs = 90_000,
    nats,
  }: { readyTimeoutMs?: number; nats?: Pick<NatsServerHandle, 'securityDir' | 'addNodes'> } = {},
): Promise<AgentHostHandle> => {
  let config: AgentHostConfig = {
    assignmentVerifyKeyFile: testAssignmentKeyFiles().verifyKey,
    ...hostConfig,
  };
  if (nats?.securityDir !== undefined) {
    await nats.addNodes(config.agents.map((a) => a.nodeId));
    config = {
      ...config,
      securityDir: nats.securityDir,
      // the coordinator signs with the security dir's key: agents verify with its public half
      assignmentVerifyKeyFile:
        hostConfig.assignmentVerifyKeyFile ?? join(nats.securityDir, ASSIGNMENT_VERIFY_KEY_FILE),
    };
  }
  writeFileSync(configFile, JSON.stringify(config));
  const handle = spawnTsx('test/support/fleet-agent-host.ts', [configFile], {});
  // waitUntil retries a condition that throws: a failure is returned, then thrown
  const ready = await waitUntil(
    `agent host ${configFile} ready`,
    () => {
      for (const line of handle.output().split('\n')) {
        if (!line.startsWith('{"')) continue;
        const msg = JSON.parse(line) as { ready?: number; ms?: number; error?: string };
        if (msg.error !== undefined) return { failure: `agent host failed: ${msg.error}` };
        if (msg.ready !== undefined) return { ms: msg.ms ?? 0 };
      }
      if (handle.child.exitCode !== null)
        return { failure: `agent host exited: ${handle.output()}` };
      return undefined;
    },
    { timeoutMs: readyTimeoutMs, intervalMs: 50 },
  ).catch(async (error: unknown) => {
    await handle.stop('SIGKILL');
    throw error;
  });
  if ('failure' in ready) {
    await handle.stop('SIGKILL');
    throw new Error(ready.failure);
  }
  return { ...handle, nodeIds: config.agents.map((a) => a.nodeId), startMs: ready.ms };
};

export interface HttpReply {
  readonly status: number;
  // the API's JSON, checked by the tests that read it
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

/** Where an API call goes, and with which bearer token (none: unauthenticated). */
export interface ApiTarget {
  readonly url: string;
  readonly token?: string | undefined;
}

/** A JSON call on the coordinator's API with the target's token. */
export const api = async (
  target: ApiTarget,
  method: string,
  path: string,
  body?: unknown,
): Promise<HttpReply> => {
  const res = await fetch(`${target.url}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(target.token === undefined ? {} : { authorization: `Bearer ${target.token}` }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
};

/** Every event of the JetStream log, in log order (as `credentials`' identity when given). */
export const readLog = async (
  natsUrl: string,
  credentials?: NatsCredentials,
): Promise<RecordedEvent[]> => {
  const store = await JetStreamEventStore.open({ servers: natsUrl, credentials });
  try {
    const events: RecordedEvent[] = [];
    for await (const e of store.readAll()) events.push(e);
    return events;
  } finally {
    await store.close();
  }
};

/** A TracingPolicy document (docs/fleet-protocol.md) with the given spec fields. */
export const tracingPolicy = (
  name: string,
  spec: {
    program?: Record<string, unknown>;
    targets: readonly (string | { pattern: string; cookie?: number })[];
    nodeSelector?: { matchLabels: Record<string, string> };
    strategy?: string;
    rollout?: Record<string, unknown>;
  },
): Record<string, unknown> => ({
  apiVersion: 'tramway.dev/v1alpha1',
  kind: 'TracingPolicy',
  metadata: { name },
  spec: {
    program: spec.program ?? { name: name.replace(/-/g, '_').slice(0, 15), attach: 'fentry' },
    targets: spec.targets.map((t) => (typeof t === 'string' ? { pattern: t } : t)),
    ...(spec.nodeSelector === undefined ? {} : { nodeSelector: spec.nodeSelector }),
    ...(spec.strategy === undefined ? {} : { strategy: spec.strategy }),
    ...(spec.rollout === undefined ? {} : { rollout: spec.rollout }),
  },
});
