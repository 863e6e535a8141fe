import { join, resolve } from 'node:path';
import { parsePolicy } from '@tramway/shared/contracts';
import type { LogLevel } from '@tramway/shared/infra';
import { LOG_LEVELS } from '@tramway/shared/infra';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EmbeddedFleet } from '@tramway/embedded';
import { DEFAULT_FLEET_FILE, loadFleetFile, startEmbeddedFleet } from '@tramway/embedded';
import { positionalsOf } from '../cli-args.js';
import type { CommandRun } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import type { StatusView } from '../fleet/coordinator-client.js';
import { createCoordinatorClient } from '../fleet/coordinator-client.js';
import type { FleetArgs } from '../fleet/fleet-options.js';
import { FleetExit, parseFleetArgs, readPolicyFile, writeError } from '../fleet/fleet-options.js';
import { isConverged, renderNodes, renderStatus, statusLine } from '../fleet/fleet-render.js';
import { formatDocument } from '../output.js';

const intOption = (
  args: FleetArgs,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number => {
  const raw = args.values.get(name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
    throw new UsageError(`${name} '${raw}' is not an integer in ${min}..${max}`);
  return Number(raw);
};

const isLogLevel = (value: string): value is LogLevel =>
  (LOG_LEVELS as readonly string[]).includes(value);

const waitForSignal = (): Promise<string> =>
  new Promise((done) => {
    const on = (signal: string) => () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      done(signal);
    };
    const onInt = on('SIGINT');
    const onTerm = on('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });

/**
 * The console's address; with the admin token, a sign-in link: the token rides in the fragment
 * (`#token=`), which the browser never sends to the server, so it reaches no request log; the page
 * moves it into the tab's sessionStorage and takes it out of the address bar.
 */
export const consoleLink = (url: string, token: string | undefined): string =>
  token === undefined ? `${url}/ui/` : `${url}/ui/#token=${encodeURIComponent(token)}`;

/**
 * The policy to apply: its text as it is, or with `spec.rollout.pauseSeconds` set to `pauseS`
 * (an object then: the API takes either). Undefined `pauseS` keeps the file's.
 */
export const withPause = (text: string, pauseS: number | undefined): string | object => {
  if (pauseS === undefined) return text;
  const parsed = parsePolicy(text);
  if (!parsed.ok) return text;
  const policy = parsed.value;
  return {
    ...policy,
    spec: { ...policy.spec, rollout: { ...policy.spec.rollout, pauseSeconds: pauseS } },
  };
};

/**
 * `tramway demo`: the embedded one-process fleet (coordinator + the simulated nodes of
 * examples/fleet/fleet.yaml, in-process bus, SQLite log in --data-dir), applies the example policy
 * through the HTTP API and shows its rollout. With --until-converged it prints the final status and
 * exits 0 when every targeted node converged, 1 after --timeout-s (pauses between waves are
 * skipped unless --pause-s says otherwise: a smoke run); otherwise (what `npm start` runs) it says
 * at once how to watch the rollout from another terminal (the example policy pauses between
 * waves, so there is something to watch), follows it, and keeps serving the API until Ctrl-C.
 */
export const runDemo: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  positionalsOf(args, []);
  const port = intOption(args, '--port', 7070, 0, 65_535);
  const timeoutS = intOption(args, '--timeout-s', 60, 1, 86_400);
  const untilConverged = args.flags.has('--until-converged');
  // the pause between waves: the policy's, else none for a smoke run (--until-converged)
  const pauseS = args.values.has('--pause-s')
    ? intOption(args, '--pause-s', 0, 0, 3600)
    : untilConverged
      ? 0
      : undefined;
  // what an accepted (202) request survives: README "What an accepted (202) request guarantees"
  const synchronous = (
    args.values.get('--sqlite-synchronous') ??
    io.env['TRAMWAY_SQLITE_SYNCHRONOUS'] ??
    'normal'
  ).toUpperCase();
  if (synchronous !== 'NORMAL' && synchronous !== 'FULL')
    throw new UsageError(
      `--sqlite-synchronous '${synchronous.toLowerCase()}' is not normal or full`,
    );
  // the level of <data-dir>/tramway.log, the coordinator's and the agents' log
  const logLevel = io.env['TRAMWAY_LOG_LEVEL'] ?? 'info';
  if (!isLogLevel(logLevel))
    throw new UsageError(`TRAMWAY_LOG_LEVEL '${logLevel}' is not one of ${LOG_LEVELS.join(', ')}`);
  const fleetFile = resolve(io.cwd, args.values.get('--fleet') ?? DEFAULT_FLEET_FILE);
  const fleet = loadFleetFile(fleetFile);
  if (!fleet.ok) {
    writeError(io, args, 'demo', 'InvalidFleet', `${fleetFile}: invalid fleet`, fleet.error);
    return FleetExit.Usage;
  }
  const policyArgs: FleetArgs = args.values.has('--file')
    ? args
    : { ...args, values: new Map([...args.values, ['--file', fleet.value.policy]]) };
  const policy = await readPolicyFile(policyArgs, io, 'demo');
  if (!policy) return FleetExit.Usage;
  // progress goes to stderr with --json so that stdout is one JSON document
  const say = (text: string): void => (args.json ? io.stderr : io.stdout)(text);

  let embedded: EmbeddedFleet;
  try {
    embedded = await startEmbeddedFleet({
      dataDir: resolve(io.cwd, args.values.get('--data-dir') ?? '.tramway'),
      host: args.values.get('--host') ?? '127.0.0.1',
      // names (comma-separated) the API answers to besides loopback and --host
      allowedHosts: (args.values.get('--allowed-hosts') ?? '')
        .split(',')
        .map((h) => h.trim())
        .filter((h) => h !== ''),
      port,
      nodes: fleet.value.nodes,
      sqliteSynchronous: synchronous,
      logLevel,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const busy = (error as { code?: unknown }).code === 'EADDRINUSE';
    writeError(
      io,
      args,
      'demo',
      'StartFailed',
      busy
        ? `port ${port} is already in use (another 'npm start'?); pass --port N or stop the other one`
        : `the embedded fleet did not start: ${message}`,
    );
    return FleetExit.Negative;
  }
  // the embedded coordinator's own admin token (<data-dir>/admin.token), else the caller's
  const token = embedded.adminToken ?? args.token;
  const client = createCoordinatorClient({
    url: embedded.url,
    ...(token === undefined ? {} : { token }),
  });
  say(
    `tramway embedded: coordinator at ${embedded.url}, console at ${embedded.url}/ui/, log and node state in ${embedded.dataDir}\n` +
      (embedded.logFile === undefined ? '' : `logs (JSON lines) in ${embedded.logFile}\n`),
  );
  const nodes = await client.nodes();
  if (nodes.ok) say(renderNodes(nodes.body));

  const code = await (async (): Promise<number> => {
    const applied = await client.apply(withPause(policy.text, pauseS));
    if (applied.ok)
      say(
        `applied ${policy.file}: ${applied.body.policy} v${applied.body.version}, rollout ${applied.body.rolloutId}\n`,
      );
    else if (applied.kind === 'http' && applied.error.code === 'Conflict')
      say(`${applied.error.message}: following it\n`);
    else {
      writeError(
        io,
        args,
        'demo',
        applied.kind === 'http' ? applied.error.code : applied.kind,
        applied.kind === 'http' ? applied.error.message : applied.message,
        applied.kind === 'http' ? applied.error.details : undefined,
      );
      return FleetExit.Negative;
    }
    if (!untilConverged)
      say(
        [
          '',
          `serving the API at ${embedded.url} until Ctrl-C. Watch the rollout wave by wave, in another terminal:`,
          `  npx tramway status ${policy.name} --watch`,
          'and try:',
          '  npx tramway nodes',
          '  npx tramway node module load web-2 nf_tables',
          `  npx tramway plan -f ${policy.file}`,
          `  npx tramway audit policy ${policy.name}`,
          ...(embedded.logFile === undefined ? [] : [`  tail -f ${embedded.logFile}`]),
          embedded.adminToken === undefined
            ? '(the API needs a token: --token or TRAMWAY_TOKEN)'
            : embedded.dataDir === resolve(io.cwd, '.tramway')
              ? `(the CLI finds the admin token in ${join(embedded.dataDir, 'admin.token')} from this directory)`
              : `(the admin token is in ${join(embedded.dataDir, 'admin.token')}: TRAMWAY_TOKEN=$(cat …) or --token)`,
          '',
        ].join('\n'),
      );
    const deadline = Date.now() + timeoutS * 1000;
    let last: StatusView | undefined;
    let lastKey = '';
    for (;;) {
      const s = await client.status(policy.name);
      if (s.ok) {
        last = s.body;
        // a line per change of the rollout, not per tick of its countdown
        const key = JSON.stringify({ ...last, now: undefined });
        if (key !== lastKey) say(`${statusLine(last)}\n`);
        lastKey = key;
        if (
          isConverged(last) ||
          last.rollout?.state === 'held' ||
          last.rollout?.state === 'rolled-back'
        )
          break;
      }
      if (Date.now() > deadline) break;
      await sleep(100);
    }
    const converged = last !== undefined && isConverged(last);
    if (untilConverged) {
      if (args.json)
        io.stdout(
          formatDocument(args.output, { url: embedded.url, converged, status: last ?? null }),
        );
      else if (last) io.stdout(renderStatus(last));
      if (!converged)
        io.stderr(`tramway demo: not every targeted node converged within ${timeoutS} s\n`);
      return converged ? FleetExit.Ok : FleetExit.Negative;
    }
    if (last) say(renderStatus(last));
    say(
      [
        '',
        `serving the API at ${embedded.url} until Ctrl-C.`,
        `open the console: ${consoleLink(embedded.url, embedded.adminToken)}`,
        embedded.adminToken === undefined
          ? ''
          : '  (a sign-in link: it holds the admin token, kept in that browser tab only; do not share it)',
        'Try, in another terminal:',
        '  npx tramway nodes',
        `  npx tramway status ${policy.name} --watch`,
        '  npx tramway node module load web-2 nf_tables',
        `  npx tramway plan -f ${policy.file}`,
        ...(embedded.logFile === undefined ? [] : [`  tail -f ${embedded.logFile}`]),
        embedded.adminToken === undefined
          ? '(the API needs a token: --token or TRAMWAY_TOKEN)'
          : embedded.dataDir === resolve(io.cwd, '.tramway')
            ? `(the CLI finds the admin token in ${join(embedded.dataDir, 'admin.token')} from this directory)`
            : `(the admin token is in ${join(embedded.dataDir, 'admin.token')}: TRAMWAY_TOKEN=$(cat …) or --token)`,
        '',
      ].join('\n'),
    );
    const signal = await waitForSignal();
    say(
      `\n${signal}: stopping (pinned links stay; 'npm start' again resumes from ${embedded.dataDir})\n`,
    );
    return FleetExit.Ok;
  })();
  const stopError = await embedded.stop();
  if (stopError) {
    io.stderr(`tramway demo: stopped with an error: ${stopError.message}\n`);
    return code === 0 ? FleetExit.Negative : code;
  }
  return code;
};
