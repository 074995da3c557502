#!/usr/bin/env node
// Bundles the web console (ui/) into dist/ui/ with esbuild: one script and one stylesheet, their
// names carrying a content hash (served with a year's Cache-Control), and manifest.json naming
// them for the server's page. The output is generated: dist/ is not in git.

import { build } from 'esbuild';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'ui');
// Not emptied first: a build running beside another (two test files) writes the same files;
// what an older build left is removed afterwards.
mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: { app: path.join(root, 'ui', 'main.ts'), style: path.join(root, 'ui', 'style.css') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  outdir: out,
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const files = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
const js = files.find((f) => /^app-.*\.js$/.test(f));
const css = files.find((f) => /^style-.*\.css$/.test(f));
if (!js || !css) throw new Error(`esbuild produced ${files.join(', ')}: no app script or stylesheet`);
const tmp = path.join(out, `manifest.json.${process.pid}.tmp`);
writeFileSync(tmp, JSON.stringify({ js, css }, null, 2) + '\n');
renameSync(tmp, path.join(out, 'manifest.json'));
for (const f of readdirSync(out))
  if (!files.includes(f) && f !== 'manifest.json' && !f.endsWith('.tmp')) rmSync(path.join(out, f), { force: true });
console.log(`ui: dist/ui/${js}, dist/ui/${css}`);
