/**
 * Prometheus text exposition (format 0.0.4) of the coordinator's view: nodes, stale nodes, links,
 * rollouts by state, events appended. Pure: the shell passes the state in.
 */
import type { FleetState, RolloutStatus } from '@tramway/shared/projections';

/** Why the HTTP API refused a request before running it (tramway_http_denied_total). */
export const DENIED_REASONS = [
  'unauthenticated',
  'forbidden',
  'rate_limited',
  'bad_origin',
  'bad_host',
  'unsupported_media_type',
] as const;
export type DeniedReason = (typeof DENIED_REASONS)[number];

export interface MetricsInput {
  readonly fleet: FleetState;
  readonly staleNodes: number;
  /** events this process appended to the log */
  readonly appended: number;
  /** requests refused by reason (absent: not counted) */
  readonly denied?: Readonly<Record<DeniedReason, number>>;
  /** messages of agents refused, by reason */
  readonly refused?: readonly (readonly [string, number])[];
}

const ROLLOUT_STATES: readonly RolloutStatus[] = ['running', 'held', 'completed', 'rolled-back'];

const metric = (
  name: string,
  type: 'gauge' | 'counter',
  help: string,
  samples: readonly { labels?: Readonly<Record<string, string>>; value: number }[],
): string =>
  [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} ${type}`,
    ...samples.map(({ labels, value }) => {
      const l = Object.entries(labels ?? {})
        .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
        .join(',');
      return `${name}${l === '' ? '' : `{${l}}`} ${value}`;
    }),
  ].join('\n');

export const renderMetrics = ({
  fleet,
  staleNodes,
  appended,
  denied,
  refused = [],
}: MetricsInput): string => {
  const nodes = Object.values(fleet.nodes).filter((n) => n.registered);
  const links = nodes.reduce((sum, n) => sum + Object.keys(n.links).length, 0);
  const rollouts = Object.values(fleet.rollouts);
  return (
    [
      metric('tramway_nodes', 'gauge', 'Registered nodes.', [{ value: nodes.length }]),
      metric('tramway_nodes_stale', 'gauge', 'Nodes whose heartbeats stopped.', [
        { value: staleNodes },
      ]),
      metric(
        'tramway_nodes_pending',
        'gauge',
        'Registered nodes waiting for approval (no assignment, not counted in rollouts).',
        [{ value: nodes.filter((n) => n.admission === 'pending').length }],
      ),
      metric('tramway_links', 'gauge', 'Links held across the fleet, as the log says.', [
        { value: links },
      ]),
      metric(
        'tramway_rollouts',
        'gauge',
        'Rollouts by state.',
        ROLLOUT_STATES.map((state) => ({
          labels: { state },
          value: rollouts.filter((r) => r.status === state).length,
        })),
      ),
      metric(
        'tramway_events_appended_total',
        'counter',
        'Events this coordinator appended to the log.',
        [{ value: appended }],
      ),
      metric(
        'tramway_refused_messages_total',
        'counter',
        'Messages of agents refused (a node speaking for another, not node facts, malformed).',
        refused.map(([reason, value]) => ({ labels: { reason }, value })),
      ),
      metric('tramway_log_position', 'gauge', 'Global position of the last event folded in.', [
        { value: fleet.position },
      ]),
      ...(denied === undefined
        ? []
        : [
            metric(
              'tramway_http_denied_total',
              'counter',
              'HTTP requests refused before they ran, by reason.',
              DENIED_REASONS.map((reason) => ({ labels: { reason }, value: denied[reason] })),
            ),
          ]),
    ].join('\n') + '\n'
  );
};
