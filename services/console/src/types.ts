/** The shapes the console reads from the coordinator (services/coordinator/src/http/console-views.ts). */

export type CellState = 'attached' | 'pending' | 'rejected' | 'trampoline-full' | 'none';

export interface FleetCell {
  readonly state: CellState;
  readonly attached: number;
  readonly pending: number;
  readonly rejected: number;
}

export interface FleetRow {
  readonly nodeId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly profile: string;
  readonly attachPath: string | null;
  readonly kernelRelease: string;
  readonly health: 'healthy' | 'stale' | 'drift' | 'unapproved' | 'unknown';
  readonly lastSeen: string | null;
  readonly generation: number;
  readonly observedGeneration: number | null;
  readonly busiestTrampoline: number;
  readonly cells: Readonly<Record<string, FleetCell>>;
}

export interface AtPosition {
  readonly position: number;
  readonly head: number;
  readonly live: boolean;
}

export interface FleetPage extends AtPosition {
  readonly recordedAt: string | null;
  readonly total: number;
  readonly policies: readonly { readonly name: string; readonly version: number }[];
  readonly items: FleetRow[];
  readonly nextCursor: string | null;
}

export interface NodeDetail extends AtPosition {
  readonly nodeId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly kernelRelease: string;
  readonly profile: string;
  readonly attachPath: string | null;
  readonly bootId: string;
  readonly bootedAt: string | null;
  readonly registeredAt: string | null;
  readonly generation: number;
  readonly observedGeneration: number | null;
  readonly trampolineBudget: number;
  readonly liveness: {
    readonly lastSeen: string | null;
    readonly stale: boolean;
    readonly admission: string;
  } | null;
  readonly trampolines: readonly {
    readonly function: string;
    readonly objId: number;
    readonly btfId: number;
    readonly links: number;
  }[];
  readonly links: readonly {
    readonly linkId: number;
    readonly programId: number;
    readonly programName: string;
    readonly policy: string | null;
    readonly attachType: string;
    readonly functions: readonly string[];
    readonly createdAt: string;
    readonly createdBy: string;
  }[];
  readonly modules: readonly { readonly module: string; readonly loadedAt: string }[];
  readonly pending: readonly {
    readonly policy: string;
    readonly function: string;
    readonly module: string;
  }[];
  readonly rejected: readonly {
    readonly policy: string;
    readonly function: string;
    readonly errno: number;
    readonly reason: string;
  }[];
  readonly cells: Readonly<Record<string, FleetCell>>;
  readonly drift: readonly unknown[];
  readonly lastFailure: {
    readonly function: string;
    readonly reason: string;
    readonly at: string;
  } | null;
}

export interface FunctionUse {
  readonly nodeId: string;
  readonly linkId: number;
  readonly programId: number;
  readonly programName: string;
  readonly policy: string | null;
  readonly attachType: string;
  readonly createdAt: string;
  readonly trampolineLinks: number;
}

export interface FunctionPage extends AtPosition {
  readonly function: string;
  readonly items: FunctionUse[];
  readonly nextCursor: string | null;
}

export interface WaveSummary {
  readonly index: number;
  readonly status: 'running' | 'held' | 'completed';
  readonly nodes: readonly string[];
  readonly reason: string | null;
  readonly failureRatio: number | null;
  readonly succeeded: number;
  readonly failed: number;
}

export interface RolloutSummary {
  readonly rolloutId: string;
  readonly policy: string;
  readonly policyVersion: number;
  readonly status: 'running' | 'held' | 'completed' | 'rolled-back';
  readonly waveCount: number;
  readonly currentWave: number | null;
  readonly startedAt: string;
  readonly startedBy: string;
  readonly reason: string | null;
  readonly maxFailureRatio: number | null;
  readonly pauseSeconds: number | null;
  readonly waves: readonly WaveSummary[];
  readonly phase: { readonly status: string; readonly pauseEndsAt: string | null } | null;
}

export interface RolloutsPage extends AtPosition {
  readonly items: RolloutSummary[];
}

export interface ConsoleEvent {
  readonly position: number;
  readonly type: string;
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly actor: string;
  readonly streamId: string;
  readonly nodeId: string | null;
  readonly policy: string | null;
  readonly rolloutId: string | null;
  readonly function: string | null;
  readonly summary: string;
}

export interface EventsPage {
  readonly items: ConsoleEvent[];
  readonly head: number;
  readonly scanned: number;
  readonly nextAfter: number | null;
}

export interface WhoAmI {
  readonly actor: string;
  readonly role: 'viewer' | 'operator' | 'admin';
}
