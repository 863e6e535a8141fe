import { describe, expect, it } from 'vitest';
import type { ScenarioFileProblem } from '../../../services/cli/src/scenario/scenario-parser.js';
import { parseScenario } from '../../../services/cli/src/scenario/scenario-parser.js';
import type { Scenario } from '../../../services/cli/src/scenario/scenario.types.js';

const MINIMAL_OBJECTS = `objects:
  - name: vmlinux
    functions:
      - { name: f1, ret: int, params: [int] }
      - { name: f2, ret: int, params: [int, u64] }
  - name: mod
    functions:
      - { name: m1, ret: void, params: ["struct S2", { type: "const char *", name: s }] }
types:
  - { kind: struct, name: S2, size: 16, members: 2 }
`;

const parsed = (text: string, file = 'x.yaml'): Scenario => {
  const result = parseScenario(text, file);
  if (!result.ok) throw new Error(result.error.map((p) => `${p.where}: ${p.message}`).join('\n'));
  return result.value;
};

const problems = (text: string, file = 'x.yaml'): string[] => {
  const result = parseScenario(text, file);
  if (result.ok) throw new Error('expected the scenario to be rejected');
  return result.error.map((p: ScenarioFileProblem) => `${p.where}: ${p.message}`);
};

const withSteps = (steps: string): string => `name: t\n${MINIMAL_OBJECTS}steps:\n${steps}`;

describe('parseScenario', () => {
  it('applies the documented defaults: profile v24, first object vmlinux, later objects modules', () => {
    const sut = parsed(withSteps('  - { op: state }\n'));
    expect(sut.profile).toBe('v24');
    expect(sut.objects.map((o) => [o.name, o.kind])).toEqual([
      ['vmlinux', 'vmlinux'],
      ['mod', 'module'],
    ]);
    expect(sut.limits).toBeUndefined();
  });

  it('canonicalises type spellings and keeps param names', () => {
    const sut = parsed(withSteps('  - { op: state }\n'));
    expect(sut.objects[1]?.functions[0]).toEqual({
      name: 'm1',
      ret: 'void',
      params: ['struct S2', { type: 'const char *', name: 's' }],
    });
  });

  it('keeps u64 cookies, args and returns exact, in decimal or hex', () => {
    const sut = parsed(
      withSteps(`  - { op: prog_load, id: p1, attach: fentry.multi, origin: f1, returns: -22 }
  - { op: link_create, id: l1, prog: p1, targets: [f1, f2], cookies: [18446744073709551615, 0x8000000000000001] }
  - { op: trigger, function: vmlinux:f2, args: [-1, 18446744073709551614], returns: 9007199254740993 }
`),
    );
    expect(sut.steps[0]).toMatchObject({ returns: -22n });
    expect(sut.steps[1]).toMatchObject({
      cookies: [18446744073709551615n, 0x8000000000000001n],
      targets: [{ name: 'f1' }, { name: 'f2' }],
    });
    expect(sut.steps[2]).toMatchObject({
      function: { name: 'f2', object: 'vmlinux' },
      args: [-1n, 18446744073709551614n],
      returns: 9007199254740993n,
    });
  });

  it('reads JSON files with the same rules and exact u64 integers', () => {
    const sut = parsed(
      JSON.stringify({
        name: 'json',
        profile: 'v26',
        objects: [{ name: 'vmlinux', functions: [{ name: 'f1', ret: 'int', params: ['int'] }] }],
        steps: [{ op: 'prog_load', id: 'p1', attach: 'fentry.multi' }],
      }).replace('"p1"', '"p1", "returns": 18446744073709551615'),
      'scenario.json',
    );
    expect(sut.profile).toBe('v26');
    expect(sut.steps[0]).toMatchObject({ op: 'prog_load', returns: 18446744073709551615n });
  });

  it('accepts every target form: name, module:name, vmlinux:name, btfId and type', () => {
    const sut = parsed(
      withSteps(`  - { op: prog_load, id: p1, attach: fentry.multi }
  - op: link_create
    id: l1
    prog: p1
    targets: [f1, "mod:m1", "vmlinux:f2", { object: mod, btfId: 0 }, { object: vmlinux, type: S2 }]
`),
    );
    expect(sut.steps[1]).toMatchObject({
      targets: [
        { name: 'f1' },
        { name: 'm1', object: 'mod' },
        { name: 'f2', object: 'vmlinux' },
        { object: 'mod', btfId: 0 },
        { object: 'vmlinux', type: 'S2' },
      ],
    });
  });

  it('treats steps the kernel would refuse as valid: fmod_ret.multi, cnt 0, unknown function', () => {
    const sut = parsed(
      withSteps(`  - { op: prog_load, id: p1, attach: fmod_ret.multi.s, origin: nosuchfn }
  - { op: link_create, id: l1, prog: p1, targets: [], count: 0, expect: EINVAL }
`).replace('name: t', 'name: t\nprofile: v26'),
    );
    expect(sut.steps.map((s) => s.op)).toEqual(['prog_load', 'link_create']);
  });

  it('names the line and column of a YAML syntax error', () => {
    expect(problems('name: t\nsteps: [1, 2\nobjects: []\n')).toEqual([
      'line 3, column 1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  it('rejects duplicate keys as a syntax error with their position', () => {
    expect(problems('name: t\nname: u\nobjects: []\nsteps: []\n')).toEqual([
      'line 2, column 1: YAML syntax error: Map keys must be unique',
    ]);
  });

  it('rejects a document that is not a mapping', () => {
    expect(problems('- 1\n- 2\n')).toEqual(['(document): must be a mapping, got a list']);
    expect(problems('')).toEqual(['(document): must be a mapping, got nothing']);
  });

  it('reports missing required top-level fields', () => {
    expect(problems('profile: v26\n')).toEqual([
      'name: required field is missing',
      'objects: required field is missing',
      'steps: required field is missing',
    ]);
  });

  it('checks the fields each op takes, and the value of expect', () => {
    expect(
      problems(
        withSteps(`  - { op: prog_load, id: p1, attach: fentry, prog: p1 }
  - { op: trigger, expect: EWOULDBLOCK, function: f1 }
  - { op: state, expect: EFOO }
  - { op: link_create, id: l1, prog: p1 }
`),
      ),
    ).toEqual([
      'steps[0].prog: unknown field (allowed here: op, id, attach, expect, origin, object, reads, ctxReads, returns)',
      'steps[1].expect: use the canonical errno name EAGAIN, not EWOULDBLOCK',
      "steps[2].expect: must be ok or a Linux errno name (EINVAL, E2BIG, ...), got 'EFOO'",
      'steps[3].targets: required field is missing',
    ]);
  });

  it('requires one cookie per target', () => {
    expect(
      problems(
        withSteps(`  - { op: prog_load, id: p1, attach: fentry.multi }
  - { op: link_create, id: l1, prog: p1, targets: [f1, f2], cookies: [1] }
`),
      ),
    ).toEqual([
      'steps[1].cookies: has 1 entries but targets has 2 (one cookie per target; use count to pass a different cnt)',
    ]);
  });

  it('rejects reads that are neither an index nor ret, and non-integers where integers go', () => {
    expect(
      problems(
        withSteps(`  - { op: prog_load, id: p1, attach: fexit, reads: [0, retval], ctxReads: [1.5], returns: "x" }
`),
      ),
    ).toEqual([
      "steps[0].reads[1]: must be an argument index or ret, got 'retval'",
      'steps[0].ctxReads[0]: must be an integer, got 1.5',
      "steps[0].returns: must be an integer, got 'x'",
    ]);
  });
});
