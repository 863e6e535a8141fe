/**
 * The rollout of one policy version, wave by wave (issue 5, "Coordinator"; STYLE.md §4
 * workflows): a pure `decide(input, state) -> outputs` and `evolve(state, input) -> state`.
 * The state is the fold of the inputs (`rebuildRollout`); the coordinator's runner is the only
 * code that sends assignments, appends the published events, and sets the timers it is asked for.
 *
 * Transitions:
 * - StartRollout: RolloutStarted, then wave 0 (WaveStarted + one AssignPolicy per node); no node:
 *   RolloutCompleted at once.
 * - NodeReported (the node's observedGeneration reached the assignment, and its facts say
 *   succeeded or failed): recorded (a report with a lower observedGeneration than one already
 *   seen for that node is stale and ignored). The failure gate holds the wave (WaveHeld) as soon
 *   as failed/total > maxFailureRatio, even before every node reported. Once every node has
 *   reported: WaveCompleted, then the next wave, or a pause (Schedule a Tick after pauseSeconds),
 *   or RolloutCompleted after the last wave.
 * - Tick {now}: ends a pause once now >= resumeAt (the next wave starts).
 * - ResumeRollout: an operator overrides the gate of a held wave (WaveCompleted with its counts,
 *   then the next wave) or cuts a pause short.
 * - RollbackRollout: every node assigned so far gets the previous version back (or loses the
 *   policy when there was none), RolloutRolledBack, Complete.
 * Wave indices are 0-based.
 */
import type {
  RolloutCompleted,
  RolloutRolledBack,
  RolloutStarted,
  WaveCompleted,
  WaveHeld,
  WaveStarted,
} from '../fleet.events.js';
import { assertNever } from '../../lib/assert-never.js';
import { expandWaves } from '../policy/policy.select.js';
import type { PolicySpec } from '../policy/policy.types.js';

/** The actor of the decisions the workflow takes on its own (STYLE.md: every decision has one). */
export const COORDINATOR_ACTOR = 'coordinator';

interface At {
  /** ISO 8601 instant from the shell's clock */
  readonly now: string;
}
interface By extends At {
  /** `user:alice`, `coordinator`... */
  readonly actor: string;
}

export type StartRollout = Readonly<{
  type: 'StartRollout';
  data: Readonly<{
    rolloutId: string;
    policy: string;
    policyVersion: number;
    spec: PolicySpec;
    /** the version the nodes run now, for rollback; null for a new policy */
    previous: Readonly<{ version: number; spec: PolicySpec }> | null;
    /** ids of the selected nodes (selectNodes); split into waves by expandWaves */
    nodes: readonly string[];
  }>;
  metadata: By;
}>;
export type NodeReported = Readonly<{
  type: 'NodeReported';
  data: Readonly<{
    rolloutId: string;
    nodeId: string;
    observedGeneration: number;
    outcome: 'succeeded' | 'failed';
    reason?: string;
  }>;
  metadata: At;
}>;
export type Tick = Readonly<{ type: 'Tick'; data: Readonly<{ rolloutId: string }>; metadata: At }>;
export type ResumeRollout = Readonly<{
  type: 'ResumeRollout';
  data: Readonly<{ rolloutId: string }>;
  metadata: By;
}>;
export type RollbackRollout = Readonly<{
  type: 'RollbackRollout';
  data: Readonly<{ rolloutId: string; reason: string }>;
  metadata: By;
}>;
export type RolloutInput = StartRollout | NodeReported | Tick | ResumeRollout | RollbackRollout;

export type RolloutEvent =
  RolloutStarted | WaveStarted | WaveHeld | WaveCompleted | RolloutCompleted | RolloutRolledBack;

/** Make node `nodeId` run `version` of the policy (null: remove the policy from the node). */
export type AssignPolicy = Readonly<{
  type: 'AssignPolicy';
  data: Readonly<{
    rolloutId: string;
    nodeId: string;
    policy: string;
    version: number | null;
    spec: PolicySpec | null;
  }>;
}>;

export type RolloutOutput =
  | Readonly<{ kind: 'Send'; to: string; command: AssignPolicy }>
  | Readonly<{
      kind: 'Publish';
      event: RolloutEvent;
      actor: string;
      occurredAt: string;
      reason?: string;
    }>
  | Readonly<{
      kind: 'Schedule';
      afterMs: number;
      message: Readonly<{ type: 'Tick'; data: Readonly<{ rolloutId: string }> }>;
    }>
  | Readonly<{ kind: 'Complete' }>
  | Readonly<{ kind: 'Ignore'; reason: string }>;

export type NodeOutcome = Readonly<{
  outcome: 'succeeded' | 'failed';
  observedGeneration: number;
  reason?: string;
}>;

export type WaveState = Readonly<{
  index: number;
  nodes: readonly string[];
  state: 'pending' | 'running' | 'held' | 'completed';
  outcomes: Readonly<Record<string, NodeOutcome>>;
}>;

export type RolloutStatus = 'none' | 'running' | 'paused' | 'held' | 'completed' | 'rolled-back';

export type RolloutState = Readonly<{
  status: RolloutStatus;
  rolloutId: string;
  policy: string;
  policyVersion: number;
  spec: PolicySpec | null;
  previous: Readonly<{ version: number; spec: PolicySpec }> | null;
  waves: readonly WaveState[];
  /** index of the wave running, held, or last completed */
  current: number;
  /** when a pause between waves ends (epoch milliseconds, from the inputs' `now`) */
  resumeAtMs?: number;
}>;

export const initialRolloutState = (): RolloutState => ({
  status: 'none',
  rolloutId: '',
  policy: '',
  policyVersion: 0,
  spec: null,
  previous: null,
  waves: [],
  current: -1,
});

/** A state transition and what the runner must do for it. */
export interface RolloutStep {
  readonly state: RolloutState;
  readonly outputs: readonly RolloutOutput[];
}

const ignore = (state: RolloutState, reason: string): RolloutStep => ({
  state,
  outputs: [{ kind: 'Ignore', reason }],
});

const publish = (
  event: RolloutEvent,
  meta: { now: string; actor?: string },
  reason?: string,
): RolloutOutput => ({
  kind: 'Publish',
  event,
  actor: meta.actor ?? COORDINATOR_ACTOR,
  occurredAt: meta.now,
  ...(reason === undefined ? {} : { reason }),
});

const withWave = (state: RolloutState, index: number, wave: Partial<WaveState>): RolloutState => ({
  ...state,
  waves: state.waves.map((w) => (w.index === index ? { ...w, ...wave } : w)),
});

const countsOf = (wave: WaveState): { succeeded: number; failed: number } => {
  let succeeded = 0;
  let failed = 0;
  for (const o of Object.values(wave.outcomes)) {
    if (o.outcome === 'succeeded') succeeded++;
    else failed++;
  }
  return { succeeded, failed };
};

/** Starts wave `index`: WaveStarted, then one assignment per node, in node order. */
const startWave = (
  state: RolloutState,
  index: number,
  meta: { now: string; actor?: string },
): RolloutStep => {
  const wave = state.waves[index];
  if (wave === undefined || state.spec === null) return ignore(state, `no wave ${index}`);
  const { resumeAtMs: _ended, ...rest } = withWave(state, index, { state: 'running' });
  const next: RolloutState = { ...rest, status: 'running', current: index };
  return {
    state: next,
    outputs: [
      publish(
        {
          type: 'WaveStarted',
          data: { rolloutId: state.rolloutId, wave: index, nodes: wave.nodes },
        },
        meta,
      ),
      ...wave.nodes.map((nodeId): RolloutOutput => ({
        kind: 'Send',
        to: nodeId,
        command: {
          type: 'AssignPolicy',
          data: {
            rolloutId: state.rolloutId,
            nodeId,
            policy: state.policy,
            version: state.policyVersion,
            spec: state.spec,
          },
        },
      })),
    ],
  };
};

/** After wave `index` completed: the next wave, a pause, or the end of the rollout. */
const afterWave = (
  state: RolloutState,
  index: number,
  meta: { now: string; actor?: string },
): RolloutStep => {
  if (index + 1 >= state.waves.length) {
    return {
      state: { ...state, status: 'completed' },
      outputs: [
        publish({ type: 'RolloutCompleted', data: { rolloutId: state.rolloutId } }, meta),
        { kind: 'Complete' },
      ],
    };
  }
  const pauseSeconds = state.spec?.rollout.pauseSeconds ?? 0;
  if (pauseSeconds > 0) {
    const resumeAtMs = Date.parse(meta.now) + pauseSeconds * 1000;
    return {
      state: { ...state, status: 'paused', resumeAtMs },
      outputs: [
        {
          kind: 'Schedule',
          afterMs: pauseSeconds * 1000,
          message: { type: 'Tick', data: { rolloutId: state.rolloutId } },
        },
      ],
    };
  }
  return startWave(state, index + 1, meta);
};

const completeWave = (
  state: RolloutState,
  index: number,
  meta: { now: string; actor?: string },
  reason?: string,
): RolloutStep => {
  const wave = state.waves[index];
  if (wave === undefined) return ignore(state, `no wave ${index}`);
  const completed = withWave(state, index, { state: 'completed' });
  const then = afterWave(completed, index, meta);
  return {
    state: then.state,
    outputs: [
      publish(
        {
          type: 'WaveCompleted',
          data: { rolloutId: state.rolloutId, wave: index, ...countsOf(wave) },
        },
        meta,
        reason,
      ),
      ...then.outputs,
    ],
  };
};

const failureGate = (state: RolloutState, wave: WaveState): { held: boolean; ratio: number } => {
  const { failed } = countsOf(wave);
  const ratio = wave.nodes.length === 0 ? 0 : failed / wave.nodes.length;
  return { held: ratio > (state.spec?.rollout.maxFailureRatio ?? 0), ratio };
};

const onStart = (state: RolloutState, input: StartRollout): RolloutStep => {
  if (state.status !== 'none')
    return ignore(state, `rollout ${state.rolloutId} already started (${state.status})`);
  const { rolloutId, policy, policyVersion, spec, previous, nodes } = input.data;
  const waves = expandWaves(spec.rollout.waves, nodes).map((ids, index): WaveState => ({
    index,
    nodes: ids,
    state: 'pending',
    outcomes: {},
  }));
  const started: RolloutState = {
    status: 'running',
    rolloutId,
    policy,
    policyVersion,
    spec,
    previous,
    waves,
    current: -1,
  };
  const meta = input.metadata;
  const announce = publish(
    { type: 'RolloutStarted', data: { rolloutId, policy, policyVersion, waves: waves.length } },
    meta,
  );
  if (waves.length === 0) {
    return {
      state: { ...started, status: 'completed' },
      outputs: [
        announce,
        publish({ type: 'RolloutCompleted', data: { rolloutId } }, meta, 'no node selected'),
        { kind: 'Complete' },
      ],
    };
  }
  const first = startWave(started, 0, meta);
  return { state: first.state, outputs: [announce, ...first.outputs] };
};

const onReport = (state: RolloutState, input: NodeReported): RolloutStep => {
  const { nodeId, observedGeneration, outcome, reason } = input.data;
  const wave = state.waves.find((w) => w.nodes.includes(nodeId));
  if (wave === undefined)
    return ignore(state, `node ${nodeId} is not part of rollout ${state.rolloutId}`);
  if (wave.state === 'pending')
    return ignore(state, `node ${nodeId}: its wave ${wave.index} has not started`);
  const known = wave.outcomes[nodeId];
  if (known !== undefined && observedGeneration < known.observedGeneration)
    return ignore(
      state,
      `stale report from ${nodeId}: generation ${observedGeneration} < ${known.observedGeneration} already reported`,
    );
  if (
    known !== undefined &&
    known.outcome === outcome &&
    known.observedGeneration === observedGeneration
  )
    return ignore(state, `node ${nodeId} already reported ${outcome}`);
  const recorded: NodeOutcome = {
    outcome,
    observedGeneration,
    ...(reason === undefined ? {} : { reason }),
  };
  const updatedWave: WaveState = { ...wave, outcomes: { ...wave.outcomes, [nodeId]: recorded } };
  const next = withWave(state, wave.index, { outcomes: updatedWave.outcomes });
  if (state.status !== 'running' || wave.index !== state.current || wave.state !== 'running')
    return {
      state: next,
      outputs: [
        { kind: 'Ignore', reason: `outcome of ${nodeId} recorded; rollout is ${state.status}` },
      ],
    };
  const gate = failureGate(state, updatedWave);
  const { succeeded, failed } = countsOf(updatedWave);
  if (gate.held) {
    const max = state.spec?.rollout.maxFailureRatio ?? 0;
    const why = `${failed} of ${updatedWave.nodes.length} nodes failed in wave ${wave.index} (failure ratio ${round(gate.ratio)} > maxFailureRatio ${max})`;
    return {
      state: { ...withWave(next, wave.index, { state: 'held' }), status: 'held' },
      outputs: [
        publish(
          {
            type: 'WaveHeld',
            data: {
              rolloutId: state.rolloutId,
              wave: wave.index,
              reason: why,
              failureRatio: gate.ratio,
            },
          },
          input.metadata,
          why,
        ),
      ],
    };
  }
  if (succeeded + failed < updatedWave.nodes.length) return { state: next, outputs: [] };
  return completeWave(next, wave.index, input.metadata);
};

const round = (ratio: number): number => Math.round(ratio * 1000) / 1000;

const onTick = (state: RolloutState, input: Tick): RolloutStep => {
  if (state.status !== 'paused' || state.resumeAtMs === undefined)
    return ignore(state, `nothing to do at a tick: rollout is ${state.status}`);
  const now = Date.parse(input.metadata.now);
  if (Number.isNaN(now) || now < state.resumeAtMs)
    return ignore(state, `paused until ${state.resumeAtMs} (epoch ms)`);
  return startWave(state, state.current + 1, input.metadata);
};

const onResume = (state: RolloutState, input: ResumeRollout): RolloutStep => {
  const meta = input.metadata;
  if (state.status === 'paused') return startWave(state, state.current + 1, meta);
  if (state.status !== 'held')
    return ignore(state, `only a held or paused rollout resumes (it is ${state.status})`);
  return completeWave(
    state,
    state.current,
    meta,
    `resumed by ${meta.actor} despite the failure gate`,
  );
};

const onRollback = (state: RolloutState, input: RollbackRollout): RolloutStep => {
  if (state.status === 'none' || state.status === 'rolled-back')
    return ignore(state, `nothing to roll back (rollout is ${state.status})`);
  const assigned = state.waves.filter((w) => w.state !== 'pending').flatMap((w) => w.nodes);
  const previous = state.previous;
  const reason = input.data.reason;
  return {
    state: {
      ...state,
      status: 'rolled-back',
    },
    outputs: [
      ...assigned.map((nodeId): RolloutOutput => ({
        kind: 'Send',
        to: nodeId,
        command: {
          type: 'AssignPolicy',
          data: {
            rolloutId: state.rolloutId,
            nodeId,
            policy: state.policy,
            version: previous?.version ?? null,
            spec: previous?.spec ?? null,
          },
        },
      })),
      publish(
        { type: 'RolloutRolledBack', data: { rolloutId: state.rolloutId, reason } },
        input.metadata,
        reason,
      ),
      { kind: 'Complete' },
    ],
  };
};

const step = (state: RolloutState, input: RolloutInput): RolloutStep => {
  if (input.type !== 'StartRollout' && input.data.rolloutId !== state.rolloutId)
    return ignore(
      state,
      `input for rollout ${input.data.rolloutId}, this is ${state.rolloutId || 'not started'}`,
    );
  switch (input.type) {
    case 'StartRollout':
      return onStart(state, input);
    case 'NodeReported':
      return onReport(state, input);
    case 'Tick':
      return onTick(state, input);
    case 'ResumeRollout':
      return onResume(state, input);
    case 'RollbackRollout':
      return onRollback(state, input);
    default:
      return assertNever(input);
  }
};

/** The outputs of an input on this state (what the runner must do). Never throws. */
export const decideRollout = (input: RolloutInput, state: RolloutState): readonly RolloutOutput[] =>
  step(state, input).outputs;

/** The state after an input (total, never throws; ignored inputs leave it unchanged). */
export const evolveRollout = (state: RolloutState, input: RolloutInput): RolloutState =>
  step(state, input).state;

/** Both at once: what the runner calls for each input. */
export const runRolloutStep = (state: RolloutState, input: RolloutInput): RolloutStep =>
  step(state, input);

/** The state after these inputs, from scratch (a coordinator restart replays them). */
export const rebuildRollout = (inputs: readonly RolloutInput[]): RolloutState =>
  inputs.reduce(evolveRollout, initialRolloutState());

/** The workflow as STYLE.md §4 shapes it. */
export const rolloutWorkflow = {
  initialState: initialRolloutState,
  decide: decideRollout,
  evolve: evolveRollout,
} as const;

/** Per-wave progress for `GET /v1/policies/:name/status`. */
export const rolloutWaves = (
  state: RolloutState,
): readonly {
  index: number;
  nodes: readonly string[];
  state: WaveState['state'];
  succeeded: number;
  failed: number;
}[] => state.waves.map((w) => ({ index: w.index, nodes: w.nodes, state: w.state, ...countsOf(w) }));
