// The offline load (astldap import / restore) runs in a worker thread with a bounded heap, so the
// load's memory stays bounded whatever the file's size: V8 otherwise lets the garbage of a long
// import grow towards its default limit (gigabytes) before collecting it. The worker opens the
// stopped server's database (taking its lock) exactly as the command did in the main thread.

import { parentPort, workerData } from 'node:worker_threads';
import { openOffline, type Base } from './offline.js';

export interface LoadJob {
  command: 'import' | 'restore';
  file: string;
  base: Base;
  /** Report progress to the parent (it draws the bar). */
  progress: boolean;
}

export type LoadMessage =
  | { type: 'progress'; bytes: number; records: number }
  | { type: 'done'; empty: boolean; records: number }
  | { type: 'failed'; message: string };

async function load(job: LoadJob): Promise<{ empty: boolean; records: number }> {
  const server = await openOffline(job.base, { bulk: true });
  try {
    // Into an empty database a dump loads as slapadd loads it: exactly the file, stamps kept.
    const empty = (await server.status()).entries === 0;
    if (job.command === 'restore' && !empty) throw new Error('the database is not empty: restore loads into an empty data directory only');
    const post = (m: LoadMessage) => parentPort!.postMessage(m);
    const records = await server.importLdifFile(job.file, {
      exact: empty,
      ...(job.progress ? { onProgress: (bytes: number, n: number) => post({ type: 'progress', bytes, records: n }) } : {}),
    });
    return { empty, records };
  } finally {
    await server.close();
  }
}

if (parentPort) {
  load(workerData as LoadJob).then(
    (r) => parentPort!.postMessage({ type: 'done', ...r } satisfies LoadMessage),
    (err: unknown) =>
      parentPort!.postMessage({ type: 'failed', message: err instanceof Error ? err.message : String(err) } satisfies LoadMessage),
  );
}
