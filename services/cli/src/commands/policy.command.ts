/**
 * `tramway policy list | get | describe | delete`: the policies the coordinator holds
 * (`GET /v1/policies`, `GET /v1/policies/{name}`, `DELETE /v1/policies/{name}`). Each `run…`
 * takes the parsed command line; the logic after parsing is in the functions it calls.
 */
import { stringify as toYaml } from 'yaml';
import type { CliIo, CommandRun } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import type { PolicyDetailView } from '../fleet/coordinator-client.js';
import type { FleetArgs } from '../fleet/fleet-options.js';
import {
  FleetExit,
  answerWith,
  clientOf,
  parseFleetArgs,
  reportFailure,
  writeAnswer,
  writeError,
} from '../fleet/fleet-options.js';
import { renderDescribe, renderPolicies } from '../fleet/fleet-render.js';
import { followRollout, followTimings } from '../fleet/follow-rollout.js';

/** `tramway policy list`: every policy in force or being deleted. */
export const listPolicies = (args: FleetArgs, io: CliIo): Promise<FleetExit> =>
  answerWith(io, args, 'policy list', clientOf(args).policies(), renderPolicies);

/**
 * The policy as a TracingPolicy document, exactly as the coordinator holds it (defaults
 * applied): `tramway apply -f` of it is "unchanged".
 */
export const policyDocument = (p: PolicyDetailView) => ({
  apiVersion: 'tramway.dev/v1alpha1',
  kind: 'TracingPolicy',
  metadata: { name: p.name },
  spec: p.spec,
});

/** `tramway policy get NAME`: the spec in force, ready to apply again (YAML; -o json: JSON). */
export const getPolicy = async (args: FleetArgs, io: CliIo, name: string): Promise<FleetExit> => {
  const answer = await clientOf(args).policy(name);
  if (!answer.ok) return reportFailure(io, args, 'policy get', answer);
  const doc = policyDocument(answer.body);
  io.stdout(
    args.output === 'json'
      ? `${JSON.stringify(doc, null, 2)}\n`
      : `# ${name} v${answer.body.version}, applied ${answer.body.appliedAt} by ${answer.body.appliedBy}\n${toYaml(doc)}`,
  );
  return FleetExit.Ok;
};

/** `tramway policy describe NAME`: versions, latest rollout and its state, nodes per state, changes. */
export const describePolicy = async (
  args: FleetArgs,
  io: CliIo,
  name: string,
): Promise<FleetExit> => {
  const client = clientOf(args);
  const [policy, status] = await Promise.all([client.policy(name), client.status(name)]);
  if (!policy.ok) return reportFailure(io, args, 'policy describe', policy);
  if (!status.ok) return reportFailure(io, args, 'policy describe', status);
  writeAnswer(io, args, { policy: policy.body, status: status.body }, (b) =>
    renderDescribe(b.policy, b.status),
  );
  return FleetExit.Ok;
};

/**
 * `tramway policy delete NAME`: asks for confirmation (a terminal, or `--yes`), deletes, then
 * (unless `--no-wait` or a structured output) follows the release until every node released it.
 */
export const deletePolicy = async (
  args: FleetArgs,
  io: CliIo,
  name: string,
  options: {
    readonly yes: boolean;
    readonly wait: boolean;
    readonly intervalMs: number;
    readonly timeoutS: number;
  },
): Promise<FleetExit> => {
  const client = clientOf(args);
  if (!options.yes) {
    if (io.confirm === undefined) {
      writeError(
        io,
        args,
        'policy delete',
        'ConfirmationRequired',
        `deleting policy ${name} needs a confirmation: pass --yes (nobody can answer: stdin is not a terminal)`,
      );
      return FleetExit.Usage;
    }
    // say what would go before asking (and find an unknown name before asking anything)
    const known = await client.policy(name);
    if (!known.ok) return reportFailure(io, args, 'policy delete', known);
    const ok = await io.confirm(
      `delete policy ${name} v${known.body.version}? every node holding it releases its links`,
    );
    if (!ok) {
      io.stderr(`tramway policy delete: not deleted (not confirmed)\n`);
      return FleetExit.Negative;
    }
  }
  const answer = await client.deletePolicy(name, args.values.get('--reason'));
  if (!answer.ok) return reportFailure(io, args, 'policy delete', answer);
  const d = answer.body;
  const started = `deleting ${name} v${d.version}: ${d.nodes.length} node(s) release it (rollout ${d.rolloutId})\n`;
  if (!options.wait || args.json) {
    writeAnswer(io, args, d, () => `${started}follow it with: tramway status ${name} --watch\n`);
    return FleetExit.Ok;
  }
  io.stdout(started);
  return followRollout(client, io, args, {
    command: 'policy delete',
    policy: name,
    rolloutId: d.rolloutId,
    intervalMs: options.intervalMs,
    timeoutS: options.timeoutS,
    done: (s) => `deleted: ${name} released from ${s.nodes.length} node(s)\n`,
  });
};

export const runPolicyList: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  positionalsOf(args, []);
  return listPolicies(args, io);
};

export const runPolicyGet: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  const [name] = positionalsOf(args, ['NAME']);
  return getPolicy(args, io, name!);
};

export const runPolicyDescribe: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  const [name] = positionalsOf(args, ['NAME']);
  return describePolicy(args, io, name!);
};

export const runPolicyDelete: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  const [name] = positionalsOf(args, ['NAME']);
  const timings = followTimings(args);
  if (typeof timings === 'string') throw new UsageError(timings);
  return deletePolicy(args, io, name!, {
    yes: args.flags.has('--yes'),
    wait: !args.flags.has('--no-wait'),
    ...timings,
  });
};
