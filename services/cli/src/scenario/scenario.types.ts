/**
 * A validated kernel scenario (design/kernel-scenarios.md). Produced only by
 * `validateScenario`; every id reference in `steps` names an earlier declaration and every
 * u64 value is a bigint, so the runner never re-checks the file.
 */

import type {
  FunctionDecl,
  KernelLimits,
  KernelProfile,
  ObjectDecl,
  ParamDecl,
  TypeDecl,
} from '@tramway/shared/kernel';

/** A scenario's profile is the kernel's (kernel-scenarios.md `profile`). */
export type ScenarioProfile = KernelProfile;

/** A field path inside the scenario file, e.g. `['steps', 3, 'targets', 1]`. */
export type FieldPath = readonly (string | number)[];

/** One thing wrong with a scenario file: where (`path`) and what (`message`). */
export interface ScenarioProblem {
  readonly path: FieldPath;
  readonly message: string;
}

/**
 * The declaration shapes of a scenario file are the kernel's own (kernel-types.ts): a validated
 * scenario feeds them to `buildKernel` as they are, so they are declared once, there.
 */
export type TypeDeclaration = TypeDecl;
export type ParamDeclaration = ParamDecl;
export type FunctionDeclaration = FunctionDecl;
export type ObjectKind = ObjectDecl['kind'];
export type ObjectDeclaration = ObjectDecl;

/** A function or type named by a step: `name`, `object:name`, or an explicit BTF id / type. */
export type ScenarioTarget =
  | { readonly name: string; readonly object?: string }
  | { readonly object: string; readonly btfId: number }
  | { readonly object: string; readonly type: string };

export type ExpectedOutcome = 'ok' | string;

interface StepBase {
  /** optional `expect`: `ok` or a canonical errno name */
  readonly expect?: ExpectedOutcome;
}

export type ScenarioStep = StepBase &
  (
    | {
        readonly op: 'prog_load';
        readonly id: string;
        readonly attach: string;
        readonly origin?: ScenarioTarget;
        readonly object?: string;
        readonly reads?: readonly (number | 'ret')[];
        readonly ctxReads?: readonly number[];
        readonly returns?: bigint;
      }
    | { readonly op: 'prog_release'; readonly prog: string }
    | {
        readonly op: 'link_create';
        readonly id: string;
        readonly prog: string;
        readonly targets: readonly ScenarioTarget[];
        readonly cookies?: readonly bigint[];
        readonly count?: number;
      }
    | {
        readonly op: 'link_release' | 'link_pin' | 'link_unpin' | 'link_detach' | 'fdinfo';
        readonly link: string;
      }
    | { readonly op: 'link_update'; readonly link: string; readonly prog: string }
    | { readonly op: 'module_load' | 'module_unload'; readonly module: string }
    | {
        readonly op: 'module_set_state';
        readonly module: string;
        readonly state: 'live' | 'going';
      }
    | {
        readonly op: 'trigger';
        readonly function: ScenarioTarget;
        readonly args?: readonly bigint[];
        readonly returns?: bigint;
      }
    | { readonly op: 'state' }
  );

export type ScenarioOp = ScenarioStep['op'];

export type ScenarioLimits = Partial<KernelLimits>;

export interface Scenario {
  readonly name: string;
  readonly profile: ScenarioProfile;
  readonly limits?: ScenarioLimits;
  readonly types: readonly TypeDeclaration[];
  readonly objects: readonly ObjectDeclaration[];
  readonly steps: readonly ScenarioStep[];
}

/** Renders a field path as `steps[3].targets[1]`; the empty path is the document itself. */
export const formatFieldPath = (path: FieldPath): string => {
  if (path.length === 0) return '(document)';
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) text += text === '' ? part : `.${part}`;
    else text += `[${JSON.stringify(part)}]`;
  }
  return text;
};
