/** JSON walks without recursion: depth, text and size of values of any depth. */
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {
  jsonDepth,
  jsonLengthAtLeast,
  stringifyDeep,
} from '../../../src/core/json';

describe('JSON of any depth', () => {
  test('jsonDepth counts containers and stops just past the limit', () => {
    assert.equal(jsonDepth('x', 5), 0);
    assert.equal(jsonDepth([[], {a: [1]}], 5), 3);
    let deep: unknown = 1;
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    assert.equal(jsonDepth(deep, 100), 101);
  });

  test('stringifyDeep writes what JSON.stringify writes, Buffers as {base64}, at depths JSON.stringify cannot reach', () => {
    const value = {
      a: 1,
      b: undefined,
      c: [1, undefined, 'x\n"'],
      d: {},
      e: [],
      f: {x: undefined},
      g: null,
      h: Buffer.from('hi'),
    };
    assert.equal(
      stringifyDeep(value),
      JSON.stringify({...value, h: {base64: 'aGk='}}),
    );
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.throws(() => JSON.stringify(deep), RangeError);
    assert.equal(
      stringifyDeep(deep),
      `${'['.repeat(100_000)}"x"${']'.repeat(100_000)}`,
    );
  });

  test('jsonLengthAtLeast is a lower bound that stops once past the limit', () => {
    const v = {a: 'x'.repeat(100), b: [1, 2]};
    const atLeast = jsonLengthAtLeast(v, 1e6);
    assert.ok(atLeast <= JSON.stringify(v).length && atLeast > 100);
    assert.ok(jsonLengthAtLeast({big: 'y'.repeat(10e6)}, 65536) > 65536);
  });
});
