// The directory core without a socket: a Directory and its Frontend over an in-memory store,
// built from the packaged schema files, for unit tests that call operations directly.

import { loadConfig, type ConfigOverrides } from '../../src/config/config.js';
import { Directory } from '../../src/directory/directory.js';
import { Frontend } from '../../src/directory/frontend.js';
import { frontendOptions } from '../../src/server/extended.js';
import { indexSpecs, makeIndexer } from '../../src/directory/indexing.js';
import { searchRequest, type OperationContext, type SearchEntry, type SearchRequest } from '../../src/ldap/messages.js';
import { buildRegistry, fileSources } from '../../src/schema/manager.js';
import { openStore } from '../../src/store/index.js';

export interface Core {
  dir: Directory;
  fe: Frontend;
  /** An operation context bound as dn ('' = anonymous), with its own session id. */
  as(dn: string, sessionId?: number): OperationContext;
  /** A search that collects what it returns. */
  search(
    ctx: OperationContext,
    req: Partial<SearchRequest> & { base: string },
  ): Promise<{ entries: SearchEntry[]; code: number; controls: unknown }>;
  close(): Promise<void>;
}

export async function startCore(overrides: ConfigOverrides = {}): Promise<Core> {
  const config = loadConfig({ overrides: { memory: true, seed: null, ...overrides }, env: {} });
  const sources = fileSources(config.schema.dir, config.schema.files);
  const schema = buildRegistry(sources);
  const specs = indexSpecs(config, schema);
  const live = { schema: () => schema };
  const store = await openStore({ memory: true, indexes: specs, indexer: makeIndexer(() => live.schema()), sync: false });
  const d = new Directory({ config, schema, store, schemaSources: sources });
  live.schema = () => d.schema;
  await d.init();
  const fe = new Frontend(d, frontendOptions());
  return {
    dir: d,
    fe,
    as(dn, sessionId = 1) {
      const ctx = d.internalContext(dn, 'unit');
      return { ...ctx, session: { ...ctx.session, id: sessionId, authMethod: dn ? 'simple' : 'anonymous' } };
    },
    async search(ctx, req) {
      const entries: SearchEntry[] = [];
      const r = await fe.search(ctx, searchRequest(req.base, req), (e) => {
        entries.push(e);
      });
      return { entries, code: r.code, controls: r.controls };
    },
    close: () => store.close(),
  };
}
