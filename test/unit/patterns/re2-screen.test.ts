/**
 * The screen that lets the function skip compiling RE2 programs at startup
 * (re2-screen.ts): a pattern it calls sure must compile, or the function
 * would start on a config `validate` refuses. Checked on random patterns
 * against re2js itself; and the usual patterns must stay sure, so a cold
 * start never loads re2js for them.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {resolve} from 'node:path';
import fc from 'fast-check';
import {RE2JS} from 're2js';
import {re2SurelyAccepts} from '../../../src/patterns/re2-screen';
import {globToRE2} from '../../../src/patterns/glob';
import {REPO} from '../../support/paths';

const compiles = (source: string, flags = 0) => {
  try {
    RE2JS.compile(source, flags);
    return true;
  } catch {
    return false;
  }
};
const jsAccepts = (source: string) => {
  try {
    new RegExp(source, 'u');
    return true;
  } catch {
    return false;
  }
};

/** Pieces of config regexes: the usual ones and every construct near RE2's edges. */
const REGEX_TOKENS = [
  'a',
  'b',
  'z',
  '_',
  '/',
  '-',
  '.',
  'é',
  '😀',
  ' ',
  '^',
  '$',
  '|',
  '*',
  '+',
  '?',
  '??',
  '*?',
  '{2}',
  '{3,5}',
  '{0}',
  '{1,}',
  '{0,1000}',
  '{1000}',
  '{100}',
  '{40}',
  '{,3}',
  '(',
  ')',
  '(?:',
  '(?<g>',
  '(?<h>',
  '(?=',
  '(?<=',
  '[a-z]',
  '[^/]',
  '[z-a]',
  '[]',
  '[^]',
  '[\\b]',
  '[\\d-z]',
  '[a-]',
  '[-a]',
  '[\\u0041-\\u005A]',
  '[\\]]',
  '[[]',
  '[\\-]',
  '[é-ü]',
  '\\d',
  '\\w',
  '\\s',
  '\\D',
  '\\b',
  '\\B',
  '\\.',
  '\\/',
  '\\\\',
  '\\-',
  '\\n',
  '\\t',
  '\\0',
  '\\cA',
  '\\x41',
  '\\u0041',
  '\\uD800',
  '\\u{1F600}',
  '\\p{L}',
  '\\k<g>',
  '\\1',
  ']',
  '}',
  '{',
];
const GLOB_TOKENS = [
  'a',
  'b',
  '/',
  '.',
  '-',
  '_',
  'é',
  '*',
  '**',
  '**/',
  '?',
  '[',
  ']',
  '!',
  '^',
  '{',
  '}',
  ',',
  '[a-z]',
  '[!a]',
  '[z-a]',
  '[!]',
  '\\',
  '(',
  ')',
  '+',
  '$',
  '|',
];

test('every regex the screen calls sure compiles on RE2 (random patterns, re2js itself decides)', () => {
  let sure = 0;
  let checked = 0;
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...REGEX_TOKENS), {maxLength: 14}),
      tokens => {
        const source = tokens.join('');
        if (!jsAccepts(source)) return true;
        checked++;
        if (!re2SurelyAccepts(source, 'js')) return true;
        sure++;
        return compiles(RE2JS.translateRegExp(source));
      },
    ),
    {numRuns: 20_000},
  );
  // Not vacuous: many valid patterns were judged, and many were sure.
  assert.ok(checked > 2_000, `${checked} patterns JavaScript accepts`);
  assert.ok(sure > 500, `${sure} sure of ${checked}`);
});

test('every nested regex the screen calls sure compiles on RE2 (random trees of groups and counts)', () => {
  const {node} = fc.letrec<{node: string}>(tie => ({
    node: fc.oneof(
      {depthSize: 'small', withCrossShrink: true},
      fc.constantFrom('a', '\\d', '[a-z]', '.', 'bc', '[^/]'),
      fc
        .tuple(
          tie('node'),
          fc.constantFrom(
            '*',
            '+',
            '?',
            '{2}',
            '{7}',
            '{3,40}',
            '{150}',
            '{999}',
            '{1,}',
            '*?',
          ),
        )
        .map(([n, q]) => `(?:${n})${q}`),
      fc.tuple(tie('node'), tie('node')).map(([x, y]) => `${x}${y}`),
      fc.tuple(tie('node'), tie('node')).map(([x, y]) => `(${x}|${y})`),
    ),
  }));
  let sure = 0;
  let refused = 0;
  fc.assert(
    fc.property(node, source => {
      const ok = compiles(RE2JS.translateRegExp(source));
      if (!ok) refused++;
      if (!re2SurelyAccepts(source, 'js')) return true;
      sure++;
      return ok;
    }),
    {numRuns: 5_000},
  );
  assert.ok(sure > 1_000 && refused > 50, `${sure} sure, ${refused} refused`);
});

test('every glob the screen calls sure compiles on RE2', () => {
  let sure = 0;
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...GLOB_TOKENS), {maxLength: 12}),
      tokens => {
        let source: string;
        try {
          source = globToRE2(tokens.join(''));
        } catch {
          return true; // unbalanced '{': refused before RE2
        }
        if (!re2SurelyAccepts(source, 're2')) return true;
        sure++;
        return compiles(source, RE2JS.DOTALL);
      },
    ),
    {numRuns: 20_000},
  );
  assert.ok(sure > 2_000, `${sure} sure`);
});

test("RE2's limits: nested counts, size and depth are not sure; just inside them is", () => {
  const notSure = [
    '^x(?:(?:a{100}){100})$', // product 10,000 > 1000
    '(?:(?:a{10}){10}){11}',
    `^${'('.repeat(101)}a${')'.repeat(101)}$`,
    '(?:abcdefghij){1000}'.repeat(140), // RE2: expression too large
    '[\\b]',
    '[]',
    '\\p{L}+',
    '(?<a>x)(?<a>y)',
  ];
  for (const s of notSure)
    assert.equal(re2SurelyAccepts(s, 'js'), false, s.slice(0, 60));
  const sure = [
    '(?:(?:a{10}){10}){10}', // product 1000
    'a{1000}',
    `^${'('.repeat(100)}a${')'.repeat(100)}$`,
    '(?:(?:a{1000}b)+c)*',
    '(?:abcdefghij){1000}'.repeat(80),
  ];
  for (const s of sure) {
    assert.equal(re2SurelyAccepts(s, 'js'), true, s.slice(0, 60));
    assert.ok(compiles(RE2JS.translateRegExp(s)), s.slice(0, 60));
  }
});

test('the usual patterns (README, example, bench, fixtures) are sure: no RE2 program at startup', () => {
  const regexes = [
    '^exports/(?<table>[a-z_]+)/dt=(?<date>\\d{4}-\\d{2}-\\d{2})/_SUCCESS$',
    '^sales/dt=(?<ds>\\d{4}-\\d{2}-\\d{2})/_SUCCESS$',
    '^exports/orders/dt=(?<date>\\d{4}-\\d{2}-\\d{2})/_SUCCESS$',
    '^incoming/orders/(?<date>\\d{4}-\\d{2}-\\d{2})/(?<file>[a-z]+)\\.csv$',
    '^(a+)+$',
    '^(?<d>\\d+)-\\d+$',
    '\\.(csv|json)$',
  ];
  for (const s of regexes) assert.equal(re2SurelyAccepts(s, 'js'), true, s);
  for (const glob of [
    'incoming/**/*_*_*_*.csv',
    'in/{a,b}/*.json',
    'in/[!_]*.csv',
    'data/????-??-??/*.parquet',
  ])
    assert.equal(re2SurelyAccepts(globToRE2(glob), 're2'), true, glob);
});

test('a cold start compiling the shipped example config loads no RE2', () => {
  const r = spawnSync(
    process.execPath,
    [
      '-e',
      `require(${JSON.stringify(resolve(REPO, 'dist/src/config/load.js'))}).loadConfigFile(${JSON.stringify(resolve(REPO, 'deploy/launcher.example.yaml'))});
       process.stdout.write(String(Object.keys(require.cache).some(k => k.includes('re2js'))));`,
    ],
    {encoding: 'utf8'},
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'false');
});
