// Google's TypeScript style (gts: ESLint + Prettier), as functions-framework-nodejs
// and google-auth-library-nodejs use it. `npm run lint` checks, `npm run fix` fixes.
const gts = require('gts');

module.exports = [
  {ignores: ['dist/', 'node_modules/', 'coverage/']},
  ...gts,
  {
    // The tests are type-checked with the sources (tsconfig.test.json includes both).
    files: ['**/*.ts'],
    languageOptions: {parserOptions: {project: './tsconfig.test.json'}},
    rules: {
      // node:test's test()/describe() return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'it', 'describe', 'suite'],
            },
          ],
        },
      ],
    },
  },
];
