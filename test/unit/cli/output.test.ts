import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  formatDocument,
  loadYamlOutput,
  renderTable,
  tableLines,
  tableStyle,
} from '../../../services/cli/src/output.js';

const HEADER = ['NODE', 'LABELS', 'PATH'];
const ROWS = [
  ['web-1', 'role=web,zone=a,kernel=v24,rack=r17', 'tracing-multi'],
  ['web-22', 'role=db', 'fentry-per-function'],
];

describe('tables', () => {
  it('aligns columns on the widest cell, pads all but the last, and writes null as -', () => {
    expect(
      tableLines(
        ['A', 'BB', 'C'],
        [
          ['xxx', null, 'z'],
          [1, 2, ''],
        ],
      ),
    ).toEqual(['A    BB  C', 'xxx  -   z', '1    2']);
    expect(renderTable(['A'], [])).toBe('A\n');
  });

  it('never cuts a table when no width is given (a pipe, a file, -o wide)', () => {
    const lines = tableLines(HEADER, ROWS);
    expect(lines[1]).toBe('web-1   role=web,zone=a,kernel=v24,rack=r17  tracing-multi');
  });

  it('fits a terminal: narrows the widest column and marks each cut cell with an ellipsis', () => {
    const lines = tableLines(HEADER, ROWS, 50);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(50);
    expect(lines[1]).toBe('web-1   role=web,zone=a,kern…  tracing-multi');
    expect(lines[2]).toBe('web-22  role=db                fentry-per-function');
  });

  it('keeps every header whole, and 6 characters of a column, when the terminal is too narrow', () => {
    const lines = tableLines(HEADER, ROWS, 10);
    expect(lines[0]).toBe('NODE    LABELS  PATH');
    expect(lines[1]).toBe('web-1   role=…  traci…');
  });

  it('takes the width from the terminal, except for -o wide', () => {
    expect(tableStyle({ columns: 100 }, 'table')).toEqual({ wide: false, width: 100 });
    expect(tableStyle({ columns: 100 }, 'wide')).toEqual({ wide: true });
    expect(tableStyle({}, 'table')).toEqual({ wide: false });
  });
});

describe('documents', () => {
  it('writes json indented and yaml that reads back to the same value', async () => {
    expect(() => formatDocument('yaml', {})).toThrow(/before loadYamlOutput/);
    await loadYamlOutput();
    const value = { nodes: [{ nodeId: 'web-1', labels: { role: 'web' }, lastSeen: null }] };
    expect(formatDocument('json', value)).toBe(`${JSON.stringify(value, null, 2)}\n`);
    const yaml = formatDocument('yaml', value);
    expect(yaml).toContain('nodeId: web-1');
    expect(parse(yaml)).toEqual(value);
  });
});
