/** The run's note fits Airflow's dag_run_note column: 1,000 code points, cut at a whole character. */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {capNote, NOTE_MAX_CHARACTERS} from '../../../src/routing/note';
import {normalizeEvent} from '../../../src/events/normalize';
import {routeEvent} from '../../../src/routing/route';
import {renderRun} from '../../../src/routing/render';
import {configWith} from '../../support/config';
import {storageCloudEvent, storageData} from '../../support/events';

/** Characters as PostgreSQL's VARCHAR and Python's len() count them. */
const characters = (s: string) => [...s].length;
const ELLIPSIS = '\u2026';
const GRIN = '\u{1F600}'; // astral plane: two UTF-16 units, one character
const FAMILY = '\u{1F469}\u200D\u{1F469}\u200D\u{1F467}'; // one emoji of 5 characters

test('a note of at most 1,000 characters is sent as rendered, even when it is over 1,000 UTF-16 units', () => {
  assert.equal(NOTE_MAX_CHARACTERS, 1000);
  const exact = 'a'.repeat(1000);
  assert.equal(capNote(exact), exact);
  const astral = GRIN.repeat(1000); // 2,000 UTF-16 units, 1,000 characters
  assert.equal(capNote(astral), astral);
});

test('a longer note keeps its first 999 characters and ends with an ellipsis: 1,000 characters', () => {
  const note = capNote(`loaded from ${'x'.repeat(1500)}`);
  assert.equal(characters(note), 1000);
  assert.equal(note, `loaded from ${'x'.repeat(987)}${ELLIPSIS}`);
  assert.equal(characters(capNote('a'.repeat(1001))), 1000);
});

test('the cut never splits an astral-plane character, an emoji sequence or a letter from its accent', () => {
  // An astral character as the 999th: a cut in UTF-16 units would leave half of it.
  const astral = capNote(`${'a'.repeat(998)}${GRIN}${'b'.repeat(10)}`);
  assert.equal(astral, `${'a'.repeat(998)}${GRIN}${ELLIPSIS}`);
  // A 5-character emoji straddling the 999th character is dropped whole.
  const family = capNote(`${'a'.repeat(996)}${FAMILY}${'b'.repeat(10)}`);
  assert.equal(family, `${'a'.repeat(996)}${ELLIPSIS}`);
  // e + combining acute straddling the cut.
  const accent = capNote(`${'a'.repeat(998)}e\u0301${'b'.repeat(10)}`);
  assert.equal(accent, `${'a'.repeat(998)}${ELLIPSIS}`);
  for (const n of [astral, family, accent]) assert.ok(characters(n) <= 1000);
});

test('one cluster longer than the limit (a letter under 2,000 marks) is cut by characters', () => {
  const note = capNote(`a${'\u0301'.repeat(2000)}`);
  assert.equal(characters(note), 1000);
  assert.ok(note.endsWith(ELLIPSIS));
});

test('NUL and lone surrogates, which PostgreSQL cannot store, become U+FFFD', () => {
  assert.equal(capNote('a\0b\uD800c\uDC00d'), 'a\uFFFDb\uFFFDc\uFFFDd');
  assert.equal(capNote(`${GRIN}`), GRIN);
});

test("renderRun caps the note it sends: 'loaded from {{ name }}' on a 1,024-byte object name", () => {
  const name = `in/${'n'.repeat(1021)}`;
  const config = configWith([
    {name: 'r', dag: 'd', note: 'loaded from {{ name }}'},
  ]);
  const event = normalizeEvent(storageCloudEvent(storageData(name)));
  const [m] = routeEvent(config, event);
  const run = renderRun(config, m!, event);
  assert.equal(characters(run.note!), 1000);
  assert.equal(run.note, `loaded from ${name.slice(0, 987)}${ELLIPSIS}`);
});
