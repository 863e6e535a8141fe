/**
 * Writing what a command found, in the format `-o` asked for: json (indented), yaml, or the
 * command's own text (table, wide). Tables go through `renderTable`, fitted to the terminal.
 */
import type { CliIo } from './cli-command.js';
import type { OutputFormat } from './output-format.js';

/**
 * The yaml library's `stringify`, loaded only for `-o yaml` (cli-program.ts awaits
 * `loadYamlOutput` before such a command runs): it is 170 KB of JavaScript that every other
 * command would otherwise load at start.
 */
let toYaml: ((value: unknown) => string) | undefined;
export const loadYamlOutput = async (): Promise<void> => {
  toYaml ??= (await import('yaml')).stringify;
};

/** The document `value` as json (indented) or yaml; table and wide never reach here. */
export const formatDocument = (format: OutputFormat, value: unknown): string => {
  if (format !== 'yaml') return `${JSON.stringify(value, null, 2)}\n`;
  if (toYaml === undefined) throw new Error('yaml output asked before loadYamlOutput()');
  return toYaml(value);
};

/** How a text table is laid out: extra columns (wide), and the width to fit (a terminal's). */
export interface TableStyle {
  readonly wide: boolean;
  /** the terminal's width; undefined (a pipe, a file, or -o wide): never cut */
  readonly width?: number;
}

export const tableStyle = (io: Pick<CliIo, 'columns'>, format: OutputFormat): TableStyle =>
  format === 'wide' || io.columns === undefined
    ? { wide: format === 'wide' }
    : { wide: false, width: io.columns };

const SEP = '  ';
/** A column is never cut below this (or its header) so that it stays recognisable. */
const MIN_COLUMN = 6;

/** `text` cut to `width` characters, the last one an ellipsis when cut. */
const cut = (text: string, width: number): string =>
  text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;

/**
 * The widths of the columns: each its widest cell; when `width` is given and the table is wider,
 * the widest columns are narrowed in turn (never below the header or MIN_COLUMN) until it fits
 * or nothing more can be narrowed.
 */
const columnWidths = (cells: readonly (readonly string[])[], width?: number): number[] => {
  const natural = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  if (width === undefined) return natural;
  const floor = cells[0]!.map((h, i) => Math.min(natural[i]!, Math.max(h.length, MIN_COLUMN)));
  const widths = [...natural];
  const total = () => widths.reduce((s, w) => s + w, 0) + SEP.length * (widths.length - 1);
  while (total() > width) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++)
      if (widths[i]! > floor[i]! && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    if (widest < 0) break;
    widths[widest] = Math.max(floor[widest]!, widths[widest]! - (total() - width));
  }
  return widths;
};

/**
 * Left-aligned columns separated by two spaces, a header line first; the last column is not
 * padded; with `width`, cells of narrowed columns end in an ellipsis. One string per line.
 */
export const tableLines = (
  header: readonly string[],
  rows: readonly (readonly (string | number | null)[])[],
  width?: number,
): string[] => {
  const cells = [
    [...header],
    ...rows.map((r) => header.map((_, i) => (r[i] === null ? '-' : String(r[i] ?? '')))),
  ];
  const widths = columnWidths(cells, width);
  return cells.map((r) =>
    r
      .map((c, i) => {
        const text = cut(c, widths[i]!);
        return i === r.length - 1 ? text : text.padEnd(widths[i]!);
      })
      .join(SEP)
      .trimEnd(),
  );
};

/** `tableLines` joined, with a final newline. */
export const renderTable = (
  header: readonly string[],
  rows: readonly (readonly (string | number | null)[])[],
  width?: number,
): string => `${tableLines(header, rows, width).join('\n')}\n`;
