// The engine's domain errors. They say what went wrong, not how a transport reports it: the
// HTTP API (../api/api.ts) maps each kind to a status code (Vault: 400 user error, 404, 500 internal).

/** invalid: the request cannot be honoured as given; notFound: what it names is gone; failed: the work itself failed. */
export type EngineErrorKind = 'invalid' | 'notFound' | 'failed';

export class EngineError extends Error {
  override name = 'EngineError';

  constructor(
    readonly kind: EngineErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export const invalid = (message: string): EngineError => new EngineError('invalid', message);
export const notFound = (message: string): EngineError => new EngineError('notFound', message);
export const failed = (message: string): EngineError => new EngineError('failed', message);

/** The message of anything thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
