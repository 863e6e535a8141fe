/**
 * `tramway --version` and `--help` must load only commander and the command tree: the static
 * (non-type) imports reachable from main.ts are walked and checked. A command's implementation is
 * reached only through `await import()` in cli-tree.ts, which this walk does not follow.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../../services/cli/src/', import.meta.url));

/** `import x from 'y'` and `export ... from 'y'`, but not `import type` nor `import()`. */
const staticImports = (file: string): string[] => {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms))
    found.push(m[1]!);
  for (const m of text.matchAll(/^import\s+'([^']+)'/gm)) found.push(m[1]!);
  return found;
};

const closure = (entry: string): { files: Set<string>; packages: Set<string> } => {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) visit(join(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  };
  visit(join(SRC, entry));
  return { files, packages };
};

describe('what `tramway --version` and `--help` load', () => {
  it('is main, the tree, the parser set-up and commander: no command implementation', () => {
    const { files, packages } = closure('main.ts');
    expect([...files].map((f) => relative(SRC, f)).sort()).toEqual([
      'cli-command.ts',
      'cli-program.ts',
      'cli-tree.ts',
      'main.ts',
      'output-format.ts',
      'version.ts',
    ]);
    expect([...packages]).toEqual(['commander']);
  });

  it('reaches every command implementation through a dynamic import in the tree', () => {
    const tree = readFileSync(join(SRC, 'cli-tree.ts'), 'utf8');
    const dynamic = [...tree.matchAll(/import\('\.\/([^']+)\.js'\)/g)].map((m) => m[1]);
    expect(dynamic).toContain('commands/kernel-functions.command');
    expect(dynamic).toContain('commands/audit.command');
    expect(dynamic).toContain('completion');
  });
});

describe('what a fleet command loads', () => {
  it('reaches no yaml library for table and json output (yaml loads with -o yaml only)', () => {
    const { packages } = closure('commands/nodes.command.ts');
    expect([...packages].filter((p) => !p.startsWith('node:'))).not.toContain('yaml');
    const { packages: kernel } = closure('commands/kernel-functions.command.ts');
    expect([...kernel]).not.toContain('yaml');
  });
});
