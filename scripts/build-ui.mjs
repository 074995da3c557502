#!/usr/bin/env node
// Bundles the web console (ui/) into dist/ui/ with esbuild: one script and one stylesheet, their
// names carrying a content hash (served with a year's Cache-Control), and manifest.json naming
// them for the server's page. The output is generated: dist/ is not in git.

import { build } from 'esbuild';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'ui');
rmSync(out, { recursive: true, force: true });
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
writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({ js, css }, null, 2) + '\n');
const sizes = readdirSync(out).map((f) => f);
console.log(`ui: dist/ui/${js}, dist/ui/${css} (${sizes.length} files)`);
