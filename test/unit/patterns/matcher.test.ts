/**
 * Matchers: every README form, captures, and linear time. The pathological
 * names below took seconds to minutes with the backtracking matcher; each test
 * has a generous timeout as the failure signal (times are in npm run bench).
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {compileMatcher, type MatcherSpec} from '../../../src/patterns/matcher';
import {compileGlob, globToRE2} from '../../../src/patterns/glob';
import {lazyRE2, PatternRefusedError} from '../../../src/patterns/linear-regex';
import {RejectedError} from '../../../src/core/errors';

const LINEAR = {timeout: 5_000};
const match = (spec: MatcherSpec, value: unknown) =>
  compileMatcher(spec).match(value);
const matches = (spec: MatcherSpec, value: unknown) =>
  match(spec, value) !== undefined;
/** Cloud Storage's longest object name: 1,024 bytes of UTF-8. */
const MAX_NAME_BYTES = 1024;
const fill = (head: string, unit: string, tail = '') => {
  let s = head;
  while (Buffer.byteLength(s + unit + tail) <= MAX_NAME_BYTES) s += unit;
  return s + tail;
};

test(
  'glob incoming/**/*_*_*_*.csv against 1,024-byte names of underscores: answered, and right',
  LINEAR,
  () => {
    const glob = {glob: 'incoming/**/*_*_*_*.csv'};
    const noCsv = fill('incoming/', '_');
    assert.equal(Buffer.byteLength(noCsv), MAX_NAME_BYTES);
    assert.equal(matches(glob, noCsv), false);
    assert.equal(matches(glob, fill('incoming/', '_', '.csv')), true);
    assert.equal(matches(glob, fill('incoming/', '_/', 'x')), false);
    assert.equal(matches(glob, fill('incoming/', '€_')), false); // 3-byte UTF-8 characters
  },
);

test(
  'regex ^(a+)+$ (nested quantifiers) against a 1,024-byte name: answered, and right',
  LINEAR,
  () => {
    const spec = {regex: '^(a+)+$'};
    assert.equal(matches(spec, 'a'.repeat(MAX_NAME_BYTES - 1) + '!'), false);
    assert.equal(matches(spec, 'a'.repeat(30) + '!'), false);
    assert.equal(matches(spec, 'a'.repeat(MAX_NAME_BYTES)), true);
    assert.equal(
      matches({regex: '^(\\w+\\s?)*$'}, 'a '.repeat(511) + '!'),
      false,
    );
    assert.equal(matches({regex: '(x+x+)+y'}, 'x'.repeat(1024)), false);
  },
);

test('glob: * stays in a segment, ** crosses folders, **/ is zero or more folders, ?, [..], [!..], {a,b}', () => {
  const cases: [string, string, boolean][] = [
    ['in/*.csv', 'in/a.csv', true],
    ['in/*.csv', 'in/a/b.csv', false],
    ['in/**/*.csv', 'in/a.csv', true],
    ['in/**/*.csv', 'in/a/b/c.csv', true],
    ['in/**/*.csv', 'in/a/b/c.json', false],
    ['in/**/*.csv', 'inx/a.csv', false],
    ['in/**', 'in/', true],
    ['in/**', 'in/a/b', true],
    ['in/**/done', 'in/done', true],
    ['in/**/done', 'in/a/b/done', true],
    ['in/**/done', 'in/xdone', false],
    ['**.csv', 'a/b.csv', true],
    ['in/?.csv', 'in/a.csv', true],
    ['in/?.csv', 'in/ab.csv', false],
    ['in/?.csv', 'in/😀.csv', true],
    ['in/[ab].csv', 'in/b.csv', true],
    ['in/[!ab].csv', 'in/b.csv', false],
    ['in/[!ab].csv', 'in/c.csv', true],
    ['in/*.{csv,json}', 'in/a.json', true],
    ['in/*.{csv,json}', 'in/a.xml', false],
    ['exact/name.csv', 'exact/name.csv', true],
    ['exact/name.csv', 'exact/name.csvx', false],
    ['a*b*c', 'a/bc', false],
    ['a*b*c', 'axbyc', true],
  ];
  for (const [glob, name, expected] of cases)
    assert.equal(matches({glob}, name), expected, `${glob} vs ${name}`);
});

test('glob: the prefix/suffix fast path answers as the RE2 program of the same glob', () => {
  const globs = [
    'in/**/*.csv',
    'in/*.csv',
    'in/**',
    'in/**/done',
    '**.csv',
    '*',
    '**',
    'a/*/b',
    'exact',
  ];
  const name = fc
    .array(fc.constantFrom('in', '/', 'a', 'b', '.csv', 'done', 'x', '\n'), {
      maxLength: 8,
    })
    .map(parts => parts.join(''));
  for (const glob of globs) {
    const viaRE2 = lazyRE2({
      source: globToRE2(glob),
      translate: false,
      dotAll: true,
      prefix: '',
      what: glob,
    });
    const fast = compileGlob(glob);
    fc.assert(
      fc.property(
        name,
        v => (fast.match(v) === undefined) === (viaRE2.match(v) === undefined),
      ),
      {numRuns: 500},
    );
  }
});

test('regex: named groups become captures; an optional group that did not take part is absent', () => {
  const readme = {
    regex:
      '^exports/(?<table>[a-z_]+)/dt=(?<date>\\d{4}-\\d{2}-\\d{2})/_SUCCESS$',
  };
  assert.deepEqual(match(readme, 'exports/orders/dt=2026-11-21/_SUCCESS'), {
    table: 'orders',
    date: '2026-11-21',
  });
  assert.equal(match(readme, 'exports/orders/dt=2026-11-21/part-0'), undefined);
  assert.deepEqual(match({regex: '^a(?<x>b)?(?<y>c)$'}, 'ac'), {y: 'c'});
  assert.deepEqual(match({regex: 'in/(?<n>\\d+)'}, 'x/in/42/y'), {n: '42'}); // a search, as JavaScript's
  assert.deepEqual(match({regex: '^\\u00e9\\u{1F600}$'}, 'é😀'), {});
  assert.deepEqual(match({regex: '^(?<c>.)$'}, '😀'), {c: '😀'}); // one code point
});

test('exact, list, prefix, suffix and exists', () => {
  assert.equal(matches('landing', 'landing'), true);
  assert.equal(matches('landing', 'landing2'), false);
  assert.equal(matches(3, 3), true);
  assert.equal(matches(true, 'true'), false);
  assert.equal(matches(null, null), true);
  assert.equal(matches(['a', 'b'], 'b'), true);
  assert.equal(matches(['a', 'b'], 'c'), false);
  assert.equal(matches({prefix: 'in/'}, 'in/x'), true);
  assert.equal(matches({prefix: 'in/'}, 'out/x'), false);
  assert.equal(matches({suffix: '.csv'}, 'a.csv'), true);
  assert.equal(matches({suffix: '.csv'}, 'a.json'), false);
  assert.equal(matches({exists: true}, ''), true);
  assert.equal(matches({exists: true}, undefined), false);
  assert.equal(matches({exists: false}, undefined), true);
  assert.equal(matches({glob: '*'}, 3), false);
  assert.equal(matches({regex: '3'}, 3), false);
});

test('regexes RE2 cannot run are refused at compile, saying why and how to fix', () => {
  const refused: [string, RegExp][] = [
    [
      '^(?<d>\\d+)-\\k<d>$',
      /backreference \(\\k<…>\).*linear.*Repeat the group's pattern/,
    ],
    ['^(a)\\1$', /backreference \(\\1\)/],
    ['^exports/(?!_)', /lookahead \(\?!…\).*Match the text itself/],
    ['(?<=a)b', /lookbehind \(\?<=…\)/],
    [
      '^a{1001}$',
      /repeat count \{1001\}, over RE2's limit of 1000.*Use \+ or \*/,
    ],
    ['\\p{Script=Greek}', /\\p\{Greek\} rather than \\p\{Script=Greek\}/],
    ['(?<日付>\\d+)', /group name '日付'.*ASCII letters/],
  ];
  for (const [regex, message] of refused) {
    assert.throws(
      () => compileMatcher({regex}),
      (err: Error) =>
        message.test(err.message) &&
        err.message.includes('RE2, the linear-time engine'),
      regex,
    );
  }
  assert.throws(
    () => compileMatcher({regex: '('}),
    /Invalid regular expression/,
  );
});

test('what only RE2 itself refuses is refused when the pattern is compiled, with why and how to fix', () => {
  const refusals: [MatcherSpec, RegExp][] = [
    [
      {regex: '^x(?:(?:a{100}){100})$'},
      /regex .* cannot run on the linear-time engine \(RE2\): invalid repeat count.*up to \{1000\}, nested ones included/,
    ],
    [
      {regex: '^[\\b]$'},
      /invalid escape sequence.*inside \[\.\.\.\], \\b is one\): write the character itself/,
    ],
    [
      {regex: `^${'('.repeat(1001)}a${')'.repeat(1001)}$`},
      /nests too deeply\. RE2 nests groups and repetitions at most 1000 deep: remove the extra parentheses/,
    ],
    [
      {glob: 'in/[z-a]*.csv'},
      /glob "in\/\[z-a\]\*\.csv" cannot run .*invalid character class range.*write \[a-z\], not \[z-a\]/,
    ],
    [{glob: 'in/[!]'}, /Correct the glob's classes/],
  ];
  for (const [spec, message] of refusals)
    assert.throws(() => compileMatcher(spec), message, JSON.stringify(spec));
  compileMatcher({regex: '^ok$'}).prepare();
  compileMatcher({glob: 'in/**/*_*.csv'}).prepare();
});

test('the lazy program (behind the compile-time check): prepare() says why; first use rejects, never a crash loop', () => {
  const nested = lazyRE2({
    source: '^x(?:(?:a{100}){100})$',
    translate: true,
    dotAll: false,
    prefix: 'x',
    what: 'regex',
  });
  assert.throws(
    () => nested.prepare(),
    /cannot run on the linear-time engine \(RE2\): invalid repeat count/,
  );
  // A name that cannot match (its literal prefix differs) needs no program.
  assert.equal(nested.match('y'), undefined);
  assert.throws(
    () => nested.match('xa'),
    (err: Error) =>
      err instanceof PatternRefusedError && err instanceof RejectedError,
  );
});
