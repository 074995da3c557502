// The command's standard output and error, finished before the process exits. Node writes to a
// pipe asynchronously once the pipe is full (64 KiB on Linux): `process.exit` right after a
// large write drops the rest, and the reader sees a clean end of file. Every command's exit goes
// through `exitWhenWritten`, which waits for what was written to reach the pipe, and a failed
// write (EPIPE: the reader went away; EIO, ENOSPC: a redirected file) makes the exit status
// non-zero, so `astldap export | gzip > backup.ldif.gz` either writes everything or fails.

type Stream = NodeJS.WriteStream;

/** The first write error of each stream, kept until the exit (the stream itself is done after it). */
const failed = new Map<Stream, Error>();

function watch(stream: Stream): void {
  stream.on('error', (err: Error) => {
    if (!failed.has(stream)) failed.set(stream, err);
  });
}

watch(process.stdout);
watch(process.stderr);

/** Resolves once everything written to `stream` so far has been handed to the system (or failed). */
function drained(stream: Stream): Promise<void> {
  if (failed.has(stream) || stream.destroyed || stream.writableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('error', done);
    stream.once('close', done);
    // Writes complete in order: this empty one's callback runs after every earlier one's.
    stream.write('', () => done());
  });
}

/**
 * Writes `text` to standard output and resolves when it has been handed to the system, or has
 * failed (the exit then reports it): a large output is not held in the pipe's queue meanwhile.
 */
export function writeOut(text: string | Uint8Array): Promise<void> {
  if (failed.has(process.stdout)) return Promise.resolve();
  return new Promise((resolve) => process.stdout.write(text, () => resolve()));
}

function describe(err: Error & { code?: string }): string {
  if (err.code === 'EPIPE') return 'standard output was closed before everything was written (EPIPE): the output is incomplete';
  return `writing standard output failed (${err.code ?? err.message}): the output is incomplete`;
}

/**
 * Exits with `code` once standard output and error have been written out; with status 1 and a
 * message on standard error when standard output could not be written entirely.
 */
export async function exitWhenWritten(code: number): Promise<never> {
  await drained(process.stdout);
  const outErr = failed.get(process.stdout);
  if (outErr) {
    if (!failed.has(process.stderr)) process.stderr.write(`astldap: ${describe(outErr)}\n`);
    if (code === 0) code = 1;
  }
  await drained(process.stderr);
  process.exit(code);
}
