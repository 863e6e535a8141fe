import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '@tramway/shared/lib';
import { SqliteEventStore } from '@tramway/shared/infra';
import { runTramway } from '../../support/cli-io.js';

/**
 * `tramway audit` in-process against a real SQLite log holding the golden log
 * node-17-tuesday.jsonl (2026-11-24): node-17 runs trace_tcp (link 7, policy trace-tcp of
 * user:alice) and, from 13:30 to 14:30, debug_send (link 8, policy debug-sendmsg of user:bob)
 * on tcp_sendmsg; node-17 reboots at 15:00.
 */
let dir: string;
let db: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tramway-audit-'));
  db = join(dir, 'log.sqlite');
  const lines = readFileSync(
    fileURLToPath(new URL('../../fixtures/event-logs/node-17-tuesday.jsonl', import.meta.url)),
    'utf8',
  )
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RecordedEvent);
  let now = '';
  const store = await SqliteEventStore.open({ path: db, pollIntervalMs: 0, now: () => now });
  for (const { streamId, streamVersion: _v, globalPosition: _p, recordedAt, ...event } of lines) {
    now = recordedAt;
    await store.append(streamId, 'any', [event]);
  }
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...argv: string[]) => runTramway(argv, { cwd: dir });

/** `tramway audit ARGV... --db <the golden log>`. */
const audit = (...argv: string[]) => run('audit', ...argv, '--db', db);

describe('tramway audit function', () => {
  it('tells which links connected to and disconnected from tcp_sendmsg on node-17, when and by whom', async () => {
    const { code, stdout } = await audit('function', 'tcp_sendmsg', '--node', 'node-17', '--json');
    expect(code).toBe(0);
    const rows = (JSON.parse(stdout) as Record<string, unknown>[]).map((e) => [
      e['at'],
      e['action'],
      e['linkId'],
      e['programName'],
      e['policy'],
      e['cookie'],
      e['actor'],
      e['detail'],
    ]);
    expect(rows).toEqual([
      [
        '2026-11-24T13:02:01.000Z',
        'connected',
        7,
        'trace_tcp',
        'trace-tcp',
        '0',
        'agent:node-17',
        null,
      ],
      [
        '2026-11-24T13:30:11.000Z',
        'connected',
        8,
        'debug_send',
        'debug-sendmsg',
        '99',
        'agent:node-17',
        null,
      ],
      [
        '2026-11-24T13:50:00.000Z',
        'attach-failed',
        null,
        'debug_send',
        'debug-sendmsg',
        null,
        'agent:node-17',
        'link of debug_send failed on tcp_sendmsg: errno 16 (program already attached to this trampoline (EBUSY))',
      ],
      [
        '2026-11-24T14:30:05.000Z',
        'disconnected',
        8,
        'debug_send',
        'debug-sendmsg',
        '99',
        'agent:node-17',
        'policy-removed',
      ],
      [
        '2026-11-24T15:00:00.000Z',
        'disconnected',
        7,
        'trace_tcp',
        'trace-tcp',
        '0',
        'agent:node-17',
        'node-booted',
      ],
    ]);
  });

  it('prints an aligned table by default', async () => {
    const { code, stdout } = await audit('function', 'tcp_sendmsg', '--node=node-3');
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(
      /^POSITION\s+AT\s+ACTION\s+LINK\s+PROGRAM\s+POLICY\s+TRAMPOLINE\s+COOKIE\s+BY\s+DETAIL$/,
    );
    expect(stdout).toContain('connected  2     trace_tcp#12');
    expect(stdout.trim().split('\n')).toHaveLength(2);
  });
});

describe('tramway audit state', () => {
  it('shows what sat on node-17 on Tuesday at 14:00', async () => {
    const { code, stdout } = await audit(
      'state',
      '--at',
      '2026-11-24T14:00:00Z',
      '--node',
      'node-17',
      '--json',
    );
    expect(code).toBe(0);
    const { node } = JSON.parse(stdout) as {
      node: {
        links: Record<string, { programName: string; createdBy: string }>;
        trampolines: Record<string, { connections: number }>;
      };
    };
    expect(Object.values(node.links).map((l) => l.programName)).toEqual([
      'trace_tcp',
      'debug_send',
    ]);
    expect(node.trampolines['1:20104']?.connections).toBe(2);
  });

  it('gives the same state for an instant and for the position of the last event before it', async () => {
    const byTime = await audit('state', '--at', '2026-11-24T14:00:00Z', '--json');
    const byPosition = await audit('state', '--position', '19', '--json');
    expect(byTime.stdout).toBe(byPosition.stdout);
    expect((JSON.parse(byTime.stdout) as { position: number }).position).toBe(19);
  });

  it('prints the fleet summary, policies and rollouts as tables', async () => {
    const { code, stdout } = await audit('state', '--position', '23');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^fleet at position 23 \(recorded 2026-11-24T15:00:00.000Z\)/);
    expect(stdout).toMatch(/node-17\s+v24\s+tracing-multi\s+node-17-boot-2\s+0\s+0\s+0\s+0\s+1/);
    expect(stdout).toMatch(/trace-tcp\s+1\s+active\s+2026-11-24T13:01:00.000Z\s+user:alice/);
    expect(stdout).toMatch(/r-1\s+trace-tcp@1\s+completed/);
  });
});

describe('tramway audit actor / program / policy', () => {
  it('lists what user:bob did between 13:00 and 15:00', async () => {
    const { code, stdout } = await audit(
      '--actor',
      'user:bob',
      '--since',
      '2026-11-24T13:00:00Z',
      '--until',
      '2026-11-24T15:00:00Z',
      '--json',
    );
    expect(code).toBe(0);
    expect(
      (JSON.parse(stdout) as { type: string; occurredAt: string }[]).map(
        (e) => `${e.occurredAt} ${e.type}`,
      ),
    ).toEqual(['2026-11-24T13:30:00.000Z PolicyApplied', '2026-11-24T14:30:00.000Z PolicyRemoved']);
    const narrower = await audit(
      'actor',
      'user:bob',
      '--until',
      '2026-11-24T14:00:00+00:00',
      '--json',
    );
    expect((JSON.parse(narrower.stdout) as unknown[]).length).toBe(1);
  });

  it('tells the history of the program debug_send: load, link, failure, release, unload', async () => {
    const { code, stdout } = await audit('program', 'debug_send', '--json');
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as { type: string }[]).map((e) => e.type)).toEqual([
      'ProgramLoaded',
      'LinkCreated',
      'LinkCreateFailed',
      'LinkReleased',
      'ProgramUnloaded',
    ]);
  });

  it('tells the history of the policy trace-tcp with its rollout and the links made for it', async () => {
    const { code, stdout } = await audit('policy', 'trace-tcp');
    expect(code).toBe(0);
    const types = stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[2]);
    expect(types).toEqual([
      'PolicyApplied',
      'RolloutStarted',
      'WaveStarted',
      'LinkCreated',
      'LinkCreated',
      'WaveCompleted',
      'RolloutCompleted',
    ]);
  });
});

describe('tramway audit rebuild', () => {
  it('rebuilds the read model from position 0, into a separate file if asked', async () => {
    const { code, stdout } = await audit('rebuild', '--read-model', 'rm.sqlite', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ applied: 23, skipped: 0, position: 23 });
    const again = await audit(
      'function',
      'tcp_sendmsg',
      '--node',
      'node-17',
      '--read-model',
      'rm.sqlite',
      '--json',
    );
    expect((JSON.parse(again.stdout) as unknown[]).length).toBe(5);
  });
});

describe('tramway audit: bad arguments exit 2 naming the argument', () => {
  it.each([
    [
      ['audit', 'state', '--at', 'tuesday', '--db', 'x'],
      /--at 'tuesday' is not a time: give an RFC 3339 time/,
    ],
    [['audit', 'state', '--position', '-3', '--db', 'x'], /--position '-3' is not an integer >= 0/],
    [['audit', 'state', '--db', 'x'], /give exactly one of --at and --position/],
    [['audit', 'function', 'tcp_sendmsg', '--db', 'x'], /--node is required/],
    [['audit', 'function', '--node', 'n', '--db', 'x'], /missing required argument 'name'/],
    [
      ['audit', 'function', 'f', '--node', 'n', '--db', 'missing.sqlite'],
      /--db '.*missing\.sqlite': no such file/,
    ],
    [['audit', 'policy', 'p', '--db', 'x', '--verbose'], /unknown option '--verbose'/],
    [
      [
        'audit',
        '--actor',
        'a',
        '--since',
        '2026-11-25T00:00:00Z',
        '--until',
        '2026-11-24T00:00:00Z',
        '--db',
        'x',
      ],
      /--since .* is after --until/,
    ],
    [['audit', '--actor', 'a', '--limit', '0', '--db', 'x'], /--limit '0' is not an integer >= 1/],
    [['audit', 'program', 'p', '--db'], /option '--db <FILE>' argument missing/],
  ])('%j', async (argv, message) => {
    const { code, stderr, stdout } = await run(...argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(stdout).toBe('');
  });

  it('refuses a --db file that is not a SQLite database', async () => {
    writeFileSync(join(dir, 'notes.txt'), 'hello, this is not sqlite\n'.repeat(100));
    const { code, stderr } = await run('audit', 'policy', 'p', '--db', 'notes.txt');
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /--db '.*notes\.txt': not a Tramway event log \(file is not a database\)/,
    );
  });

  it('reports a node unknown at that point with exit 1, saying where it first appears and what the log covers', async () => {
    const { code, stderr } = await audit('state', '--position', '1', '--node', 'node-3');
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^tramway audit state: node node-3 is not known at position 1 \(recorded 2026-11-24T13:00:00\.000Z\): it first appears at \S+ \(position \d+\); the log covers 2026-11-24T13:00:00\.000Z \(position 1\) to \S+ \(position \d+\)\n$/,
    );
  });

  it('refuses a time before the log begins, and a position past its end, naming the range (exit 1)', async () => {
    const before = await audit('state', '--at', '2026-11-20T00:00:00Z');
    expect(before.code).toBe(1);
    expect(before.stderr).toMatch(
      /^tramway audit state: 2026-11-20T00:00:00\.000Z is before the log begins: the log covers 2026-11-24T13:00:00\.000Z \(position 1\) to \S+ \(position (\d+)\)\n$/,
    );
    const past = await audit('state', '--position', '999999');
    expect(past.code).toBe(1);
    expect(past.stderr).toMatch(/position 999999 is past the end of the log: the log covers /);
  });

  it('without --db asks the coordinator at --url: an unreachable one is exit 69 naming it', async () => {
    const r = await run('audit', 'function', 'f', '--node', 'n', '--url', 'http://127.0.0.1:1');
    expect(r.code).toBe(69);
    expect(r.stderr).toContain('cannot reach the coordinator at http://127.0.0.1:1');
  });
});
