import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runTramway } from '../../support/cli-io.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = 'test/fixtures/scenarios';

interface StepDoc {
  readonly index: number;
  readonly op: string;
  readonly ok: boolean;
  readonly errno: string | null;
  readonly value: Record<string, unknown> | null;
}
interface ScenarioDoc {
  readonly name: string;
  readonly profile: string;
  readonly steps: readonly StepDoc[];
  readonly expectations: { readonly checked: number; readonly failed: number };
}

/** Runs `tramway ARGS` in-process from the repository root. */
const tramway = async (...args: string[]) => {
  const { code, stdout, stderr } = await runTramway(args, { cwd: ROOT });
  return { status: code, stdout, stderrLines: stderr.split('\n').filter((l) => l) };
};

/** Reads a stream of JSON documents, one per line (`--compact`). */
const documents = (stdout: string): ScenarioDoc[] =>
  stdout
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l) as ScenarioDoc);

const runOne = async (file: string): Promise<ScenarioDoc> => {
  const run = await tramway('kernel', 'run', '--compact', file);
  expect(run.stderrLines).toEqual([]);
  expect(run.status).toBe(0);
  const [doc] = documents(run.stdout);
  if (!doc) throw new Error('no document printed');
  return doc;
};

const step = (doc: ScenarioDoc, index: number): StepDoc => {
  const s = doc.steps[index];
  if (!s) throw new Error(`no step ${index}`);
  return s;
};

const fdinfoLines = (s: StepDoc): string[] => String(s.value?.['text']).split('\n');

describe('tramway kernel run', () => {
  it.each([
    ['examples/v24-basics.yaml', 6],
    ['examples/v26-basics.yaml', 9],
    ['examples/trampoline-budget.yaml', 6],
    ['examples/module-pinning.yaml', 15],
    [`${FIXTURES}/v24-attach-checks.yaml`, 27],
    [`${FIXTURES}/v24-rollback.yaml`, 13],
    [`${FIXTURES}/v24-trigger-order.yaml`, 12],
    [`${FIXTURES}/v24-fdinfo.yaml`, 3],
    [`${FIXTURES}/v26-checks.yaml`, 24],
    [`${FIXTURES}/v26-fdinfo.yaml`, 4],
  ])('holds every expectation of %s (exit 0)', async (file, checked) => {
    const doc = await runOne(file);
    expect(doc.expectations).toEqual({ checked, failed: 0 });
  });

  it('prints the documented output document for the v24 basics example', async () => {
    const doc = await runOne('examples/v24-basics.yaml');
    expect(doc.name).toBe('v24 basics');
    expect(doc.profile).toBe('v24');
    expect(doc.steps.map((s) => [s.index, s.op, s.ok, s.errno])).toEqual([
      [0, 'prog_load', true, null],
      [1, 'link_create', true, null],
      [2, 'trigger', true, null],
      [3, 'fdinfo', true, null],
      [4, 'module_unload', false, 'EAGAIN'],
      [5, 'link_create', false, 'EEXIST'],
      [6, 'link_release', true, null],
      [7, 'module_unload', true, null],
      [8, 'state', true, null],
    ]);
    expect(step(doc, 0).value).toEqual({ progId: 1 });
    expect(step(doc, 1).value).toMatchObject({
      linkId: 1,
      connections: [
        { function: 'bpf_fentry_test1', objId: 1, cookie: 1 },
        { function: 'bpf_fentry_test2', objId: 1, cookie: 2 },
        { function: 'bpf_testmod_fentry_test1', objId: 2, cookie: 3 },
      ],
    });
    expect(step(doc, 2).value).toEqual({
      invocations: [
        { prog: 'p1', kind: 'fentry', cookie: 2, funcIp: 'bpf_fentry_test2', argCount: 2 },
      ],
      returned: 0,
      called: true,
    });
    expect(step(doc, 4).value).toBeNull();
    expect(step(doc, 8).value).toEqual({
      trampolines: [],
      modules: [{ name: 'bpf_testmod', state: 'unloaded', refcount: 0 }],
      links: [],
      progs: [{ id: 1, name: 'p1', loaded: true }],
    });
  });

  it('leaves no connection and no module reference behind after a failed v24 attach', async () => {
    const doc = await runOne(`${FIXTURES}/v24-rollback.yaml`);
    expect(step(doc, 4).errno).toBe('E2BIG');
    expect(step(doc, 5).value).toEqual(step(doc, 3).value);
    expect(step(doc, 10).errno).toBe('EINVAL');
    const afterMismatch = step(doc, 11).value as {
      trampolines: { function: string; fentry: unknown[] }[];
    };
    expect(afterMismatch.trampolines.map((t) => [t.function, t.fentry.length])).toEqual([
      ['f1', 0],
      ['f3', 1],
      ['f_s1', 0],
    ]);
  });

  it('runs fentry newest first, stops fmod_ret at the first non-zero return and skips the function', async () => {
    const doc = await runOne(`${FIXTURES}/v24-trigger-order.yaml`);
    const call = (prog: string, kind: string, cookie: number) => ({
      prog,
      kind,
      cookie,
      funcIp: 'f',
      argCount: 2,
    });
    expect(step(doc, 12).value).toEqual({
      invocations: [
        call('fe_new', 'fentry', 0),
        call('fe_old', 'fentry', 11),
        call('mr_zero', 'fmod_ret', 21),
        call('mr_five', 'fmod_ret', 22),
        call('fx', 'fexit', 31),
      ],
      returned: 5,
      called: false,
    });
    expect(step(doc, 14).value).toEqual({
      invocations: [
        call('fe_new', 'fentry', 0),
        call('fe_old', 'fentry', 11),
        call('mr_zero', 'fmod_ret', 21),
        call('mr_zero_late', 'fmod_ret', 23),
        call('fx', 'fexit', 31),
      ],
      returned: 3,
      called: true,
    });
    expect(step(doc, 15).value).toEqual({
      invocations: [{ prog: 'fe_old', kind: 'fentry', cookie: 12, funcIp: 'g', argCount: 3 }],
      returned: 0,
      called: true,
    });
    expect(step(doc, 17).value).toEqual({ invocations: [], returned: 0, called: true });
  });

  it('shows the v24 fdinfo layout: one triple per entry in request order, no cookie', async () => {
    const doc = await runOne(`${FIXTURES}/v24-fdinfo.yaml`);
    const lines = fdinfoLines(step(doc, 2));
    expect(lines[2]).toMatch(/^prog_tag:\t[0-9a-f]{16}$/);
    expect(lines.filter((_, i) => i !== 2)).toEqual([
      'link_type:\ttracing_multi',
      'link_id:\t1',
      'prog_id:\t1',
      'attach_type:\t57',
      'target_obj_id:\t1',
      'target_btf_id:\t200',
      'attach_type:\t57',
      'target_obj_id:\t2',
      'target_btf_id:\t201',
      'attach_type:\t57',
      'target_obj_id:\t1',
      'target_btf_id:\t100',
      '',
    ]);
    expect(step(doc, 4).errno).toBe('EBADF');
  });

  it('shows the v26 fdinfo layout: cnt, a header, rows sorted by BTF id with their cookies', async () => {
    const doc = await runOne(`${FIXTURES}/v26-fdinfo.yaml`);
    const lines = fdinfoLines(step(doc, 2));
    expect(lines[2]).toMatch(/^prog_tag:\t[0-9a-f]{16}$/);
    expect(lines.slice(4)).toEqual([
      'attach_type:\t59',
      'cnt:\t2',
      'obj-id\tbtf-id\tcookie\tfunc',
      '1\t100\t10\tf1',
      '1\t300\t30\tf3',
      '',
    ]);
    expect(fdinfoLines(step(doc, 4)).slice(5)).toEqual([
      'cnt:\t1',
      'obj-id\tbtf-id\tcookie\tfunc',
      '1\t200\t0\tf2',
      '',
    ]);
  });

  it('runs an fsession.multi program at entry and at exit, around fentry programs (v26)', async () => {
    const doc = await runOne(`${FIXTURES}/v26-checks.yaml`);
    const run = (prog: string, kind: string) => ({
      prog,
      kind,
      cookie: 0,
      funcIp: 'f1',
      argCount: 1,
    });
    expect(step(doc, 19).value).toEqual({
      invocations: [run('p_sess', 'fsession'), run('p1', 'fentry'), run('p_sess', 'fsession')],
      returned: 0,
      called: true,
    });
  });

  it('exits 1 and names each step whose expectation failed; u64 values print as strings', async () => {
    const run = await tramway('kernel', 'run', '--compact', `${FIXTURES}/failing-expectation.yaml`);
    expect(run.status).toBe(1);
    expect(run.stderrLines).toEqual([
      `${FIXTURES}/failing-expectation.yaml: steps[1]: expected ok, got EBUSY (target 1: program 1 is already attached to f1)`,
      `${FIXTURES}/failing-expectation.yaml: steps[2]: expected E2BIG, got ok`,
    ]);
    const [doc] = documents(run.stdout);
    expect(doc?.expectations).toEqual({ checked: 3, failed: 2 });
    expect(doc?.steps[2]?.value).toMatchObject({
      connections: [{ function: 'f1', cookie: '18446744073709551615' }],
    });
  });

  it.each([
    [
      'syntax.yaml',
      [
        'line 5, column 1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
      ],
    ],
    ['bad.json', ['line 5, column 3: JSON syntax error: Map keys must be unique']],
    [
      'fields.yaml',
      [
        "profile: must be one of v24, v26, got 'v23'",
        'limits.maxLinks: unknown field (allowed here: maxTrampLinks, maxMultiCount)',
        'limits.maxTrampLinks: must be between 1 and 4294967295, got 0',
        'objects[0].functions[0].sleepy: unknown field (allowed here: name, ret, params, errorInjectable, nonSleepable, fmodret, fmodretSleepable, securityHook, denyListed, noreturn, address, btfId)',
        "objects[0].functions[1].params: must be a list, got 'int'",
        "objects[0].functions[2].ret: unknown type 'integer' (not a built-in type or a typedef under types)",
        "objects[0].functions[2].errorInjectable: must be true or false, got 'yes'",
        'steps[0].reads[1]: must be an integer, got 1.5',
        'steps[1].cnt: unknown field (allowed here: op, id, prog, targets, expect, cookies, count)',
        'steps[1].cookies[0]: must be between 0 and 18446744073709551615, got -1',
        'steps[2].args: must be a list, got 5',
        "steps[3].expect: must be ok or a Linux errno name (EINVAL, E2BIG, ...), got 'WHATEVER'",
        "steps[4].op: unknown op 'attach_all' (known: prog_load, prog_release, link_create, link_release, link_pin, link_unpin, link_detach, link_update, module_load, module_unload, module_set_state, trigger, fdinfo, state)",
        "steps[5]: must be a mapping with an op, got 'just a string'",
      ],
    ],
    [
      'references.yaml',
      [
        "steps[0].prog: no earlier prog_load step declares 'p1'",
        "steps[1].origin: malformed target 'mod:m1:x' (expected NAME, MODULE:NAME or vmlinux:NAME)",
        "steps[2].id: duplicate id 'p1' (already declared by steps[1])",
        "steps[3].targets[1]: unknown object 'nomod' (declare it under objects)",
        "steps[3].targets[2]: malformed target '' (expected NAME, MODULE:NAME or vmlinux:NAME)",
        'steps[3].targets[3]: a target mapping needs btfId or type besides object',
        "steps[3].targets[4].type: unknown type 'NoSuchType' (declare it under types)",
        "steps[4].link: 'p1' is a program, not a link",
        "steps[5].prog: 'l1' is a link, not a program",
        "steps[6].link: no earlier link_create step declares 'l9'",
        "steps[7].module: 'vmlinux' is not a module (it is vmlinux)",
        "steps[8].module: unknown module 'netfilter' (declare it under objects)",
        "steps[9].state: must be one of live, going, got 'dying'",
      ],
    ],
    [
      'declarations.yaml',
      [
        "types[1].name: duplicate type name 'S1' (first declared at types[0])",
        "types[2].size: an enum's size must be 1, 2, 4 or 8, got 3",
        "types[3].type: unknown struct 'S9' (declare it under types)",
        "objects[0].name: the first object must be vmlinux, got 'mod'",
        "objects[0].functions[0].params[0]: 'S1' is declared as a struct, not a union (types[0])",
        'objects[1].kind: only the first object is vmlinux',
        "objects[1].functions[1].name: duplicate function 'f1' in vmlinux (first declared at functions[0])",
        "objects[1].functions[2].ret: '...' is only allowed as the last param",
        "objects[1].functions[2].params[0]: '...' (varargs) must be the last param",
        'objects[1].functions[2].btfId: must be between 1 and 2147483647, got 0',
        "objects[1].functions[3].ret: 'unsigned float' is not a known type form",
        "objects[1].functions[3].params[1].name: duplicate param name 'a' (also params[0])",
        "objects[2].loaded: must be true or false, got 'maybe'",
        "objects[2].name: duplicate object name 'mod' (first declared at objects[0])",
      ],
    ],
    [
      'kernel-spec.yaml',
      [
        "objects[0].functions[0].btfId: btfId 1 is not available: this object's types take ids up to 13",
      ],
    ],
  ])('lists every problem of malformed/%s and exits 2', async (name, problems) => {
    const file = `${FIXTURES}/malformed/${name}`;
    const run = await tramway('kernel', 'run', file);
    expect(run.stderrLines).toEqual(problems.map((p) => `${file}: ${p}`));
    expect(run.stdout).toBe('');
    expect(run.status).toBe(2);
  });

  it('runs every file: prints the valid ones, reports the malformed and missing ones, exits 2', async () => {
    const run = await tramway(
      'kernel',
      'run',
      '--compact',
      `${FIXTURES}/v24-fdinfo.yaml`,
      `${FIXTURES}/malformed/kernel-spec.yaml`,
      'no/such/file.yaml',
      `${FIXTURES}/failing-expectation.yaml`,
    );
    expect(documents(run.stdout).map((d) => d.name)).toEqual(['v24 fdinfo', 'failing expectation']);
    expect(run.stderrLines.map((l) => l.split(': ')[0])).toEqual([
      `${FIXTURES}/malformed/kernel-spec.yaml`,
      'no/such/file.yaml',
      `${FIXTURES}/failing-expectation.yaml`,
      `${FIXTURES}/failing-expectation.yaml`,
    ]);
    expect(run.stderrLines[1]).toBe('no/such/file.yaml: cannot read: no such file');
    expect(run.status).toBe(2);
  });

  it('pretty-prints by default, one document after another', async () => {
    const run = await tramway('kernel', 'run', `${FIXTURES}/v26-fdinfo.yaml`);
    expect(run.status).toBe(0);
    expect(run.stdout.startsWith('{\n  "name": "v26 fdinfo",\n  "profile": "v26",\n')).toBe(true);
    expect(JSON.parse(run.stdout)).toMatchObject({ expectations: { checked: 4, failed: 0 } });
  });

  it('rejects a call without files or with an unknown option as a usage error (exit 2)', async () => {
    expect((await tramway('kernel', 'run')).status).toBe(2);
    const unknown = await tramway('kernel', 'run', '--fast', 'examples/v24-basics.yaml');
    expect(unknown.status).toBe(2);
    expect(unknown.stderrLines[0]).toBe("tramway kernel run: unknown option '--fast'");
  });

  it('works as a child process through the bin script (exit status and stdout)', async () => {
    const run = await promisify(execFile)(
      process.execPath,
      ['services/cli/bin/tramway.js', 'kernel', 'run', '--compact', 'examples/v24-basics.yaml'],
      { cwd: ROOT },
    );
    const [doc] = documents(run.stdout);
    expect(doc).toMatchObject({ name: 'v24 basics', expectations: { checked: 6, failed: 0 } });
    expect(run.stderr).toBe('');
  }, 30_000);
});
