/**
 * The architecture, checked in `npm test`: dependencies run one way (routes → services → repositories →
 * db), the domain core imports nothing of the service, and no feature reaches into another's routes.
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
      name: 'no-foreign-routes',
      comment: 'Routes are leaves: only the app (which registers them) imports them.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/app\\.ts$' },
      to: { path: 'routes\\.ts$' },
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
