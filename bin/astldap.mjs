#!/usr/bin/env -S node --max-semi-space-size=8
// The astldap command as npm installs it: a fixed, executable entry point that runs the compiled
// CLI (dist/ is built by `npm start`, `npm test`, `npm run build` and `npm pack`, so npm never
// links a file that does not exist yet or lacks its executable bit). V8's young generation is held
// to 8 MiB semi-spaces (16 by default): less resident memory, the same throughput and tail latency
// (at 4 MiB, collections came often enough to show in p99; BENCHMARKS.md);
// every launcher (npm start, the Dockerfile, contrib/astldap.service, the bench) passes the same flag.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('astldap: dist/ is not built yet; run `npm run build` (npm start and npm test build it too)\n');
  process.exit(1);
}
await import(cli.href);
