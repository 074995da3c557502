// dependency-cruiser: the layering of src/ and no import cycles. `npm run lint:deps` runs it.
//
// Layers, bottom to top (a layer may import only the ones below it, and itself):
//   src/ldap/                          shared LDAP vocabulary (messages, result codes, OIDs); imports nothing of ours
//   src/config/                        configuration, logging, TLS material
//   src/schema/  src/store/  src/ldif/ independent of one another
//   src/access/                        access control and password checks
//   src/directory/                     the operations, over schema, store, ldif and access
//   src/protocol/                      the wire codec and connections: beside directory, never touching it
//   src/admin/                         the admin API and password-rotation engine, over directory
//   src/server/                        wires protocol, directory and admin together (index.ts: AstldapServer)
//   src/asterisk/                      Asterisk migration and endpoint tools: an LDAP client of the directory
//   src/console/                       the web console's server side: over admin (its index), asterisk, directory
//   src/cli/  src/index.ts             entry points; nothing imports them
//
// Rules are written by path, so they hold for folders that do not exist yet. Type-only imports count
// (tsPreCompilationDeps): a cycle or an upward reference through types is still one.

/** Paths of the top of the tree: the CLI and the package entry point. */
const ENTRY = '^src/(cli/|index\\.ts$)';
/** The server wiring: src/server/ (src/server.ts too, as it was: the layering test's fixtures use it). */
const SERVER = '^src/(server/|server\\.ts$)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles (type-only ones included) make modules impossible to read, test or move alone. Break the cycle.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      severity: 'ignore',
      comment: 'Off: entry points and modules loaded only by tests are fine.',
      from: { orphan: true },
      to: {},
    },

    // --- ldap: the shared vocabulary -------------------------------------------------------------
    {
      name: 'ldap-imports-nothing',
      severity: 'error',
      comment: 'src/ldap/ is the shared vocabulary every layer uses; it may import nothing else of the project.',
      from: { path: '^src/ldap/' },
      to: { path: '^src/', pathNot: '^src/ldap/' },
    },

    // --- config ----------------------------------------------------------------------------------
    {
      name: 'config-only-ldap',
      severity: 'error',
      comment: 'src/config/ may import only src/ldap/.',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: '^src/(config|ldap)/' },
    },

    // --- schema, store, ldif: side by side, independent of one another ---------------------------
    {
      name: 'schema-only-ldap-config',
      severity: 'error',
      comment: 'src/schema/ may import only src/ldap/ and src/config/ (not store, ldif or anything above).',
      from: { path: '^src/schema/' },
      to: { path: '^src/', pathNot: '^src/(schema|ldap|config)/' },
    },
    {
      name: 'store-only-ldap-config',
      severity: 'error',
      comment: 'src/store/ may import only src/ldap/ and src/config/ (not schema, ldif or anything above).',
      from: { path: '^src/store/' },
      to: { path: '^src/', pathNot: '^src/(store|ldap|config)/' },
    },
    {
      name: 'ldif-only-ldap-config',
      severity: 'error',
      comment: 'src/ldif/ may import only src/ldap/ and src/config/ (not schema, store or anything above).',
      from: { path: '^src/ldif/' },
      to: { path: '^src/', pathNot: '^src/(ldif|ldap|config)/' },
    },

    // --- access ----------------------------------------------------------------------------------
    {
      name: 'access-only-below',
      severity: 'error',
      comment: 'src/access/ may import only src/ldap/, src/config/, src/schema/ and src/store/.',
      from: { path: '^src/access/' },
      to: { path: '^src/', pathNot: '^src/(access|ldap|config|schema|store)/' },
    },

    // --- directory -------------------------------------------------------------------------------
    {
      name: 'directory-not-protocol',
      severity: 'error',
      comment: 'src/directory/ works on decoded requests (src/ldap/ types); it must not know the wire codec in src/protocol/.',
      from: { path: '^src/directory/' },
      to: { path: '^src/protocol/' },
    },
    {
      name: 'directory-not-admin-server-cli',
      severity: 'error',
      comment: 'src/directory/ must not import the layers built on it: src/admin/, the server wiring, the CLI or src/index.ts.',
      from: { path: '^src/directory/' },
      to: { path: `^src/admin/|${SERVER}|${ENTRY}` },
    },

    // --- protocol --------------------------------------------------------------------------------
    {
      name: 'protocol-only-ldap-config',
      severity: 'error',
      comment:
        'src/protocol/ (wire codec, connections) may import only src/ldap/ and src/config/: not directory, store, schema, ' +
        'ldif, access, admin, the server wiring or the CLI. The server hands it a handler typed in src/ldap/.',
      from: { path: '^src/protocol/' },
      to: { path: '^src/', pathNot: '^src/(protocol|ldap|config)/' },
    },

    // --- admin -----------------------------------------------------------------------------------
    {
      name: 'admin-not-protocol',
      severity: 'error',
      comment: 'src/admin/ drives the directory in-process; it must not import the wire codec in src/protocol/.',
      from: { path: '^src/admin/' },
      to: { path: '^src/protocol/' },
    },
    {
      name: 'admin-not-server-cli',
      severity: 'error',
      comment: 'src/admin/ must not import the server wiring, the CLI or src/index.ts, which are built on it.',
      from: { path: '^src/admin/' },
      to: { path: `${SERVER}|${ENTRY}` },
    },

    // --- asterisk --------------------------------------------------------------------------------
    {
      name: 'asterisk-is-an-ldap-client',
      severity: 'error',
      comment:
        'src/asterisk/ (config converter, endpoint tools) talks to the directory over LDAP like any client: it may import ' +
        'only its own files and the shared utilities src/ldap/, src/ldif/, src/config/ and the DN functions of ' +
        'src/schema/dn.ts; never the store, the directory, the protocol layer, admin or the server.',
      from: { path: '^src/asterisk/' },
      to: { path: '^src/', pathNot: '^src/(asterisk|ldap|ldif|config)/|^src/schema/dn\\.ts$' },
    },
    {
      name: 'only-cli-imports-asterisk',
      severity: 'error',
      comment:
        'src/asterisk/ sits beside the CLI (and the web console, which shares its endpoint logic): nothing below it ' +
        '(directory, store, protocol, admin, server) may import it.',
      from: { path: '^src/', pathNot: '^src/(asterisk|cli|console)/|^src/index\\.ts$' },
      to: { path: '^src/asterisk/' },
    },

    // --- console ---------------------------------------------------------------------------------
    {
      name: 'console-room',
      severity: 'error',
      comment:
        'src/console/ (the web console on the admin listener) works as its signed-in identity: over its own LDAP ' +
        'connection (src/asterisk/), the admin API through admin/index.ts, and the directory only for the bind ' +
        'throttle. Never the store, the protocol layer, the server wiring or the CLI.',
      from: { path: '^src/console/' },
      to: { path: `^src/(store|protocol)/|^src/admin/(?!index\\.ts$)|${SERVER}|${ENTRY}` },
    },
    {
      name: 'only-server-imports-console',
      severity: 'error',
      comment: 'The console is mounted by the server wiring; no other layer imports it.',
      from: { path: '^src/', pathNot: `^src/console/|${SERVER}` },
      to: { path: '^src/console/' },
    },

    // --- server ----------------------------------------------------------------------------------
    {
      name: 'server-not-cli',
      severity: 'error',
      comment: 'The server wiring (src/server/) may import every layer except the CLI and src/index.ts.',
      from: { path: SERVER },
      to: { path: ENTRY },
    },
  ],

  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist' },
    // Count `import type` too: a cycle or an upward reference through types is still one.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
