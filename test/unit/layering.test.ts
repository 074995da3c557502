// The layering check (.dependency-cruiser.cjs, `npm run lint:deps`) bites: on a tiny fake tree with
// the project's folder names, an upward import and an import cycle (through a type-only import) are
// reported under the expected rule names, and a correctly layered tree passes.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const depcruise = path.join(root, 'node_modules', '.bin', 'depcruise');

interface Violation {
  type: string;
  from: string;
  to: string;
  rule: { name: string; severity: string };
  cycle?: Array<{ name: string } | string>;
}

interface Cruise {
  dir: string;
  violations: Violation[];
}

const TSCONFIG = {
  compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true },
  include: ['src/**/*.ts'],
};

/** Lays out `files` (path -> source) as a project with the real config, and runs depcruise on its src/. */
function cruise(dir: string, files: Record<string, string>): Cruise {
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(root, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  const run = depcruiseIn(dir, '--output-type', 'json');
  let out: { summary: { violations: Violation[] } };
  try {
    out = JSON.parse(run.stdout);
  } catch {
    throw new Error(`depcruise printed no JSON (exit ${run.status}): ${run.stderr || run.stdout}`);
  }
  return { dir, violations: out.summary.violations };
}

/** Runs the depcruise binary of the project on `dir`/src with the config there, as `npm run lint:deps` does. */
function depcruiseIn(dir: string, ...extra: string[]) {
  const run = spawnSync(depcruise, ['src', '--config', '.dependency-cruiser.cjs', ...extra], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (run.error) throw run.error;
  return run;
}

/** A TypeScript source file from its lines. */
const ts = (...lines: string[]) => lines.join('\n') + '\n';

const byRule = (violations: Violation[], rule: string) => violations.filter((v) => v.rule.name === rule);
const cycleNames = (v: Violation) => (v.cycle ?? []).map((c) => (typeof c === 'string' ? c : c.name));

describe('layering check (dependency-cruiser)', { timeout: 60_000 }, () => {
  let tmp: string;
  let bad: Cruise;
  let good: Cruise;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'astldap-layering-'));
    bad = cruise(path.join(tmp, 'bad'), {
      // Upward: the shared vocabulary reaching into the directory.
      'src/ldap/a.ts': ts("import { b } from '../directory/b.js';", 'export const a = b + 1;'),
      'src/directory/b.ts': ts('export const b = 1;'),
      // A cycle inside src/directory/, closed by a type-only import.
      'src/directory/x.ts': ts("import { y } from './y.js';", 'export interface X { n: number }', 'export const x = y + 1;'),
      'src/directory/y.ts': ts("import type { X } from './x.js';", 'export const y = 2;', 'export const sample: X = { n: y };'),
      // The wire codec reaching into the directory.
      'src/protocol/p.ts': ts("import { b } from '../directory/b.js';", 'export const p = b;'),
      // The Asterisk tools (an LDAP client) reaching into the store, and the directory into them.
      'src/store/s.ts': ts('export const s = 1;'),
      'src/asterisk/t.ts': ts("import { s } from '../store/s.js';", 'export const t = s;'),
      'src/directory/d.ts': ts("import { t } from '../asterisk/t.js';", 'export const d = t;'),
    });
    // Every layer, each importing only what it may.
    good = cruise(path.join(tmp, 'good'), {
      'src/ldap/result.ts': ts('export const success = 0;'),
      'src/config/config.ts': ts("import { success } from '../ldap/result.js';", 'export const config = { code: success };'),
      'src/schema/registry.ts': ts(
        "import { config } from '../config/config.js';",
        "export const registry = new Map([['code', config.code]]);",
      ),
      'src/store/store.ts': ts("import { success } from '../ldap/result.js';", 'export const store = [success];'),
      'src/ldif/ldif.ts': ts(
        "import type { success } from '../ldap/result.js';",
        'export const parse = (s: string): typeof success => s.length;',
      ),
      'src/access/policy.ts': ts(
        "import { registry } from '../schema/registry.js';",
        "import { store } from '../store/store.js';",
        'export const allowed = registry.size + store.length;',
      ),
      'src/directory/directory.ts': ts(
        "import { allowed } from '../access/policy.js';",
        "import { parse } from '../ldif/ldif.js';",
        'export const directory = { allowed, parse };',
      ),
      'src/protocol/codec.ts': ts(
        "import type { success } from '../ldap/result.js';",
        'export const encode = (code: typeof success) => [code];',
      ),
      'src/admin/engine.ts': ts("import { directory } from '../directory/directory.js';", 'export const engine = directory;'),
      'src/server.ts': ts(
        "import { engine } from './admin/engine.js';",
        "import { encode } from './protocol/codec.js';",
        'export const server = { engine, encode };',
      ),
      'src/schema/dn.ts': ts('export const escape = (v: string) => v;'),
      'src/asterisk/convert.ts': ts(
        "import { success } from '../ldap/result.js';",
        "import { parse } from '../ldif/ldif.js';",
        "import { escape } from '../schema/dn.js';",
        'export const convert = (s: string) => parse(escape(s)) + success;',
      ),
      'src/cli/asterisk.ts': ts("import { convert } from '../asterisk/convert.js';", 'export const cmd = convert;'),
      'src/cli/main.ts': ts(
        "import { server } from '../server.js';",
        "import { cmd } from './asterisk.js';",
        'export const main = { server, cmd };',
      ),
      'src/index.ts': ts("export { server } from './server.js';"),
    });
  });

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('reports an upward import from src/ldap/ as ldap-imports-nothing', () => {
    expect(byRule(bad.violations, 'ldap-imports-nothing')).toEqual([
      expect.objectContaining({
        from: 'src/ldap/a.ts',
        to: 'src/directory/b.ts',
        rule: { name: 'ldap-imports-nothing', severity: 'error' },
      }),
    ]);
  });

  it('reports src/protocol/ importing src/directory/ as protocol-only-ldap-config', () => {
    expect(byRule(bad.violations, 'protocol-only-ldap-config')).toEqual([
      expect.objectContaining({ from: 'src/protocol/p.ts', to: 'src/directory/b.ts' }),
    ]);
  });

  it('reports src/asterisk/ importing the store, and the directory importing src/asterisk/', () => {
    expect(byRule(bad.violations, 'asterisk-is-an-ldap-client')).toEqual([
      expect.objectContaining({ from: 'src/asterisk/t.ts', to: 'src/store/s.ts' }),
    ]);
    expect(byRule(bad.violations, 'only-cli-imports-asterisk')).toEqual([
      expect.objectContaining({ from: 'src/directory/d.ts', to: 'src/asterisk/t.ts' }),
    ]);
  });

  it('reports a cycle, even one closed by a type-only import, as no-circular', () => {
    const cycles = byRule(bad.violations, 'no-circular');
    expect(cycles.length).toBeGreaterThan(0);
    for (const v of cycles) {
      expect(v.rule.severity).toBe('error');
      expect([v.from, ...cycleNames(v)].sort()).toEqual(expect.arrayContaining(['src/directory/x.ts', 'src/directory/y.ts']));
    }
    const files = new Set(cycles.flatMap((v) => [v.from, v.to]));
    expect([...files].sort()).toEqual(['src/directory/x.ts', 'src/directory/y.ts']);
  });

  it('reports nothing else, and fails the run (non-zero exit, as in CI) on the bad tree', () => {
    expect(new Set(bad.violations.map((v) => v.rule.name))).toEqual(
      new Set([
        'ldap-imports-nothing',
        'protocol-only-ldap-config',
        'no-circular',
        'asterisk-is-an-ldap-client',
        'only-cli-imports-asterisk',
      ]),
    );
    const run = depcruiseIn(bad.dir);
    expect(run.status).not.toBe(0);
    expect(run.stdout).toContain('ldap-imports-nothing');
  });

  it('passes a correctly layered tree (exit 0)', () => {
    expect(good.violations).toEqual([]);
    expect(depcruiseIn(good.dir).status).toBe(0);
  });
});
