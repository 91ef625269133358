/**
 * The architecture, checked in `npm test`: dependencies run one way (routes → services → repositories →
 * db; intake → conversions → affiliate-postbacks → dispatch), the domain core imports nothing of the
 * service, and no feature reaches into another's routes.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'A cycle means two modules cannot be understood (or tested) apart.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'domain-is-pure',
      comment: 'src/domain holds the rules as plain functions: it imports only itself and node: built-ins.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    {
      name: 'lib-is-generic',
      comment: 'src/lib is machinery any feature may use; it knows no feature, no HTTP and no database.',
      severity: 'error',
      from: { path: '^src/lib/' },
      to: { path: '^src/', pathNot: '^src/lib/' },
    },
    {
      name: 'db-knows-no-http',
      comment: 'The database layer is below HTTP: it never imports routes, plugins or problem types.',
      severity: 'error',
      from: { path: '^src/db/' },
      to: { path: '^src/(http|plugins)/|routes\\.ts$' },
    },
    {
      name: 'repositories-know-no-http',
      comment: 'Repositories return rows and throw domain errors; the error handler makes problems of them.',
      severity: 'error',
      from: { path: 'repository\\.ts$' },
      to: { path: '^src/(http|plugins)/|routes\\.ts$' },
    },
    {
      name: 'rules-throw-domain-errors',
      comment: 'Below the routes, intake, conversions, stats, offers and affiliate-postbacks refuse with domain errors ' +
        '(src/domain/errors.ts); the error handler makes problems of them.',
      severity: 'error',
      from: { path: '^src/(intake|conversions|stats|offers|affiliate-postbacks)/', pathNot: 'routes\\.ts$' },
      to: { path: '^src/(http/problem|plugins/)' },
    },
    {
      name: 'no-foreign-routes',
      comment: 'Routes are leaves: only the app (which registers them) imports them.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/app\\.ts$' },
      to: { path: 'routes\\.ts$' },
    },
    {
      name: 'dispatch-is-an-engine',
      comment: 'src/dispatch sends what it is given: it knows the database, the domain rules and lib, no feature. ' +
        'Its plugin is the one place where the engine is wired to the features (who may be resent to).',
      severity: 'error',
      from: { path: '^src/dispatch/', pathNot: '^src/dispatch/plugin\\.ts$' },
      to: { path: '^src/', pathNot: '^src/(dispatch|db|domain|lib)/|^src/version\\.ts$' },
    },
    {
      name: 'conversions-flow-one-way',
      comment: 'An advertiser postback flows intake → conversions → affiliate-postbacks → dispatch; nothing flows back.',
      severity: 'error',
      from: { path: '^src/(conversions|affiliate-postbacks|dispatch)/' },
      to: { path: '^src/intake/' },
    },
    {
      name: 'affiliate-postbacks-know-no-conversions-logic',
      comment: 'Affiliate postbacks fire on conversion events; they read conversion rows (db), never the conversions feature.',
      severity: 'error',
      from: { path: '^src/(affiliate-postbacks|dispatch)/' },
      to: { path: '^src/conversions/' },
    },
    {
      name: 'no-tests-in-src',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
}
