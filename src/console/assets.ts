// The console's page and its bundled assets (dist/ui/, built by scripts/build-ui.mjs). The files
// are read once at start-up into a table keyed by their hashed names: a request can only name a
// file of that table, so no path of the request ever reaches the file system.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { HttpResponse } from '../admin/index.js';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export class ConsoleAssets {
  private readonly files = new Map<string, { body: Buffer; type: string }>();
  private readonly page: string;

  constructor(dir: string) {
    const manifestFile = path.join(dir, 'manifest.json');
    if (!existsSync(manifestFile)) {
      this.page = shell('', '', '<p>The console was not built: run <code>npm run build</code>.</p>');
      return;
    }
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { js: string; css: string };
    for (const name of readdirSync(dir)) {
      const type = TYPES[path.extname(name)];
      if (type) this.files.set(name, { body: readFileSync(path.join(dir, name)), type });
    }
    this.page = shell(manifest.js, manifest.css, '<noscript>The console needs JavaScript.</noscript>');
  }

  get built(): boolean {
    return this.files.size > 0;
  }

  index(): HttpResponse {
    return { status: 200, raw: this.page, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' } };
  }

  /** A hashed asset by its name (the part of the path after /ui/assets/); undefined when none is. */
  asset(name: string): HttpResponse | undefined {
    const f = this.files.get(name);
    if (!f) return undefined;
    return { status: 200, raw: f.body, headers: { 'Content-Type': f.type, 'Cache-Control': 'public, max-age=31536000, immutable' } };
  }
}

function shell(js: string, css: string, body: string): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>astldap console</title>',
    css ? `<link rel="stylesheet" href="/ui/assets/${css}">` : '',
    js ? `<script type="module" src="/ui/assets/${js}"></script>` : '',
    '</head>',
    `<body><div id="app">${body}</div></body>`,
    '</html>',
    '',
  ].join('\n');
}
