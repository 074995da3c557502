#!/usr/bin/env node
// The astldap command as npm installs it: a fixed, executable entry point that runs the compiled
// CLI (dist/ is built by `npm start`, `npm test`, `npm run build` and `npm pack`, so npm never
// links a file that does not exist yet or lacks its executable bit). It runs node without flags:
// a shebang cannot pass them portably (`env -S` is missing from BusyBox); npm start, the
// Dockerfile and contrib/astldap.service give node --max-semi-space-size=8 (docs/operations.md).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('astldap: dist/ is not built yet; run `npm run build` (npm start and npm test build it too)\n');
  process.exit(1);
}
await import(cli.href);
