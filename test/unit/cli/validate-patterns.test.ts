/**
 * `dag-launcher validate` on patterns: what cannot run in linear time is
 * refused, saying why and how to fix, in one pass with every other problem,
 * as the function refuses it at startup.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {REPO} from '../../support/paths';
import {loadConfig} from '../../../src/config/load';
import {ConfigError} from '../../../src/core/errors';

const CLI = resolve(REPO, 'dist/src/cli/main.js');
const validate = (routes: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'dl-')), 'launcher.yaml');
  writeFileSync(
    file,
    `environments: {a: {url: "http://127.0.0.1:1", api: v2}}\nroutes:\n${routes}`,
  );
  return {
    file,
    ...spawnSync(process.execPath, [CLI, 'validate', file], {
      encoding: 'utf8',
      timeout: 30_000,
    }),
  };
};

test('validate refuses a backreference and a lookahead, with the reason and the fix, each at its path', () => {
  const r = validate(
    [
      String.raw`  - {name: same, dag: d, match: {name: {regex: '^(?<d>\d+)-\k<d>$'}}}`,
      String.raw`  - {name: look, dag: d, match: {attributes: {kind: {regex: '^(?!test)'}}}}`,
    ].join('\n') + '\n',
  );
  assert.equal(r.status, 1, r.stdout);
  assert.match(
    r.stderr,
    /routes\.0\.match\.name: regex "\^\(\?<d>\\\\d\+\)-\\\\k<d>\$" uses a backreference \(\\k<…>\), which no engine matches in time linear in the name's length: RE2, the linear-time engine that runs config patterns, cannot run it\. Repeat the group's pattern/,
  );
  assert.match(
    r.stderr,
    /routes\.1\.match\.attributes\.kind: regex "\^\(\?!test\)" uses a lookahead \(\?!…\).*Match the text itself instead/,
  );
});

test('validate lists what only RE2 finds with every other problem in one pass, and the function refuses the same config with the same list', () => {
  const routes = [
    '  - {name: typo, dag: d, dga: x}',
    String.raw`  - {name: nested, dag: d, match: {name: {regex: '^x(?:(?:a{100}){100})$'}}}`,
    String.raw`  - {name: range, dag: d, match: {name: {glob: 'in/[z-a]*.csv'}}, conf: {t: '{{ json.t }}'}}`,
  ];
  const r = validate(routes.join('\n') + '\n');
  assert.equal(r.status, 1, r.stdout);
  const listed = r.stderr
    .split('\n')
    .filter(l => l.startsWith('  - '))
    .map(l => l.slice(4));
  const want = [
    /^routes\.0: unknown key 'dga'/,
    /^routes\.1\.match\.name: regex .* cannot run on the linear-time engine \(RE2\): invalid repeat count.*up to \{1000\}, nested ones included/,
    /^routes\.2\.match\.name: glob .* invalid character class range: `z-a`\. A range runs from the lower character to the higher: write \[a-z\], not \[z-a\]/,
    /^routes\.2\.conf\.t: \{\{ json\.t \}\} reads 'json', a Pub\/Sub variable/,
  ];
  for (const re of want)
    assert.ok(
      listed.some(l => re.test(l)),
      `missing ${re} in\n${r.stderr}`,
    );
  assert.equal(listed.length, want.length, r.stderr);
  assert.match(r.stderr, /\n4 problems\n$/);
  // The function's startup (LAUNCHER_CONFIG) refuses it with exactly that list.
  try {
    loadConfig({LAUNCHER_CONFIG: r.file});
    assert.fail('the function accepted a config validate refuses');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.deepEqual(err.problems, listed);
  }
});

test('validate accepts ^(a+)+$ and a glob with many stars: they run in linear time now', () => {
  const r = validate(
    [
      String.raw`  - {name: nested, dag: d, match: {name: {regex: '^(a+)+$'}}}`,
      String.raw`  - {name: stars, dag: d, match: {name: {glob: 'incoming/**/*_*_*_*.csv'}}}`,
    ].join('\n') + '\n',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /valid \(1 environment\(s\), 2 route\(s\)\)/);
});
