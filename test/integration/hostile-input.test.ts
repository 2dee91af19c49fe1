/**
 * Hostile input, property-based (fast-check): envelopes and payloads of the
 * wrong types, missing fields, huge strings, invalid base64 and JSON,
 * unicode and path-like object names, attribute values that look like
 * template syntax. Whatever arrives, the handler ends in a defined outcome
 * (an outcome line, a dead letter, or a redelivery), never an unhandled
 * rejection or a process exit, never a DAG outside its route's allowlist,
 * never a conf over maxConfBytes.
 *
 * The handler runs in-process (thousands of cases) against the Airflow
 * stand-in over loopback; a second property sends raw deliveries to the
 * function under the real functions-framework and checks it stays up. A
 * third feeds the edges of test/support/hostile-events.ts (JSON nested deep,
 * sizes up to the platform maxima and past them, prototype keys, control
 * characters in every field) and holds each delivery to a CPU budget.
 *
 * Over 300 lines: the generators of hostile input are shared by every property, so they live with them.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {Writable} from 'node:stream';
import fc from 'fast-check';
import {AirflowStandIn} from '../support/airflow-standin';
import {FunctionProcess} from '../support/function-process';
import {compileConfig} from '../../src/config/compile';
import type {LauncherConfig} from '../../src/config/types';
import {buildTargets} from '../../src/airflow/targets';
import {createHandler, RedeliverError} from '../../src/handler';
import {createLogger} from '../../src/logging/logger';
import type {DeadLetterRecord} from '../../src/outcomes/dead-letters';
import {PUBSUB_PUBLISHED, STORAGE_FINALIZED} from '../../src/events/event';
import {
  bigDelivery,
  CPU_BUDGET_MS,
  cpuOfDelivery,
  deliveryBytes,
  hostileDelivery,
  trickyDelivery,
} from '../support/hostile-events';

const MAX_CONF = 2048;
const ALLOWED = {byMetadata: ['load_a', 'load_b'], commands: ['refresh']};
const OUTCOMES = new Set([
  'triggered',
  'duplicate',
  'retry',
  'rejected',
  'expired',
  'unmatched',
]);

function rawConfig(url: string) {
  return {
    environments: {main: {url, api: 'v2', auth: 'none'}},
    requestTimeout: '2s',
    functionTimeout: '10s',
    maxConfBytes: MAX_CONF,
    retry: {attempts: 1},
    routes: [
      {
        name: 'by-metadata',
        match: {type: 'storage', metadata: {dag: {exists: true}}},
        dag: '{{ metadata.dag }}',
        allowedDags: ALLOWED.byMetadata,
        conf: {uri: 'gs://{{ bucket }}/{{ name }}', meta: '{{ metadata }}'},
      },
      {
        name: 'files',
        match: {type: 'storage', name: {glob: '**/*.csv'}},
        dag: 'load_files',
        conf: {
          name: '{{ name }}',
          base: '{{ basename }}',
          size: '{{ size | default: 0 }}',
        },
      },
      {
        name: 'commands',
        match: {type: 'pubsub'},
        dag: '{{ json.dag }}',
        allowedDags: ALLOWED.commands,
        conf: {
          params: '{{ json.params | default: {} }}',
          who: "{{ attributes.who | default: 'x' }}",
          text: '{{ text }}',
        },
      },
    ],
  };
}

/** Strings a hostile or careless producer sends. */
const nasty = fc.oneof(
  fc.string(),
  fc.string({unit: 'grapheme'}),
  fc.string({unit: 'binary'}),
  fc.constantFrom(
    '{{ name }}',
    '{{ attributes.x }}',
    '{% raw %}',
    '{{',
    '}}',
    '${process.env.HOME}',
    '__proto__',
    'constructor',
    '../../etc/passwd',
    '..\\..\\x',
    '%2e%2e%2f',
    '%',
    '\u0000',
    '\ud800',
    'a'.repeat(1025),
    'load_a',
    'refresh',
    'not_allowed',
    '_SUCCESS',
  ),
  fc.string({minLength: 3000, maxLength: 12_000}),
);
const anyJson = fc.oneof(
  fc.jsonValue({maxDepth: 3}),
  nasty,
  fc.constant(undefined),
  fc.constant(null),
);
const dict = fc.dictionary(nasty, fc.oneof(nasty, anyJson), {maxKeys: 5});
const path = fc
  .array(
    fc.oneof(
      nasty,
      fc.constantFrom('a', 'b.csv', '..', '.', '', ' ', 'ü', '日本.csv'),
    ),
    {minLength: 1, maxLength: 6},
  )
  .map(p => p.join('/'));
const base64ish = fc.oneof(
  fc
    .jsonValue({maxDepth: 3})
    .map(v => Buffer.from(JSON.stringify(v) ?? '').toString('base64')),
  fc
    .record({
      dag: fc.oneof(nasty, fc.constantFrom('refresh', 'load_a', 'x')),
      params: anyJson,
    })
    .map(v => Buffer.from(JSON.stringify(v)).toString('base64')),
  nasty.map(s => Buffer.from(s).toString('base64')),
  nasty,
);

const storageData = fc.record(
  {
    bucket: fc.oneof(fc.constant('landing'), nasty, anyJson),
    name: fc.oneof(path, nasty, anyJson),
    generation: fc.oneof(
      fc.bigInt({min: 0n, max: 10n ** 18n}).map(String),
      nasty,
      anyJson,
    ),
    size: fc.oneof(fc.nat().map(String), fc.integer(), nasty, anyJson),
    contentType: fc.oneof(fc.constant('text/csv'), nasty, anyJson),
    metadata: fc.oneof(
      fc.dictionary(
        fc.constantFrom('dag', 'who', 'x', '__proto__'),
        fc.oneof(nasty, fc.constantFrom('load_a', 'load_b', 'load_c')),
      ),
      dict,
      anyJson,
    ),
  },
  {requiredKeys: []},
);

const pubsubData = fc.record(
  {
    subscription: fc.oneof(fc.constant('projects/p/subscriptions/s'), anyJson),
    message: fc.oneof(
      fc.record(
        {
          data: base64ish,
          attributes: fc.oneof(
            fc.dictionary(nasty, nasty, {maxKeys: 4}),
            dict,
            anyJson,
          ),
          messageId: fc.oneof(fc.uuid(), nasty, anyJson),
        },
        {requiredKeys: []},
      ),
      anyJson,
    ),
  },
  {requiredKeys: []},
);

const cloudEvent = fc.record(
  {
    specversion: fc.oneof(fc.constant('1.0'), anyJson),
    id: fc.oneof(fc.uuid(), nasty, anyJson),
    type: fc.oneof(
      fc.constantFrom(
        STORAGE_FINALIZED,
        PUBSUB_PUBLISHED,
        'google.cloud.storage.object.v1.deleted',
      ),
      nasty,
      anyJson,
    ),
    source: fc.oneof(
      fc.constantFrom(
        '//storage.googleapis.com/projects/_/buckets/landing',
        '//pubsub.googleapis.com/projects/p/topics/t',
      ),
      nasty,
    ),
    subject: fc.oneof(
      path.map(p => `objects/${p}`),
      nasty,
      anyJson,
    ),
    time: fc.oneof(
      fc.date({noInvalidDate: true}).map(d => d.toISOString()),
      nasty,
      anyJson,
    ),
    traceparent: fc.oneof(
      nasty,
      fc.constant('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'),
    ),
    datacontenttype: fc.oneof(fc.constant('application/json'), nasty),
    data: fc.oneof(
      storageData,
      pubsubData,
      anyJson,
      nasty.map(s => Buffer.from(s)),
    ),
  },
  {requiredKeys: []},
);

const legacy = fc.record(
  {
    data: fc.oneof(
      storageData,
      fc.record({data: base64ish, attributes: dict}, {requiredKeys: []}),
      anyJson,
    ),
    context: fc.oneof(
      fc.record(
        {
          eventId: fc.oneof(fc.uuid(), anyJson),
          timestamp: fc.oneof(
            fc.date({noInvalidDate: true}).map(d => d.toISOString()),
            anyJson,
          ),
          eventType: fc.oneof(
            fc.constantFrom(
              'google.storage.object.finalize',
              'google.pubsub.topic.publish',
              'providers/cloud.pubsub/eventTypes/topic.publish',
            ),
            nasty,
          ),
          resource: fc.oneof(
            fc.record({service: nasty, name: path}),
            nasty,
            anyJson,
          ),
        },
        {requiredKeys: []},
      ),
      anyJson,
    ),
  },
  {requiredKeys: []},
);

/** Well-formed envelopes whose values are hostile: what gets past the shape checks and into routing and rendering. */
const plausibleStorage = fc
  .record({
    name: fc.oneof(
      path,
      nasty.filter(s => s.length > 0),
    ),
    generation: fc.bigInt({min: 1n, max: 10n ** 17n}).map(String),
    size: fc.nat().map(String),
    metadata: fc.dictionary(
      fc.constantFrom('dag', 'who', 'x', '__proto__', '{{ name }}'),
      fc.oneof(
        nasty,
        fc.constantFrom('load_a', 'load_b', 'load_c', 'not_allowed'),
      ),
    ),
    csv: fc.boolean(),
  })
  .map(({name, generation, size, metadata, csv}) => {
    const n = csv ? `${name}.csv` : name;
    return {
      specversion: '1.0',
      id: `e-${generation}`,
      type: STORAGE_FINALIZED,
      source: '//storage.googleapis.com/projects/_/buckets/landing',
      subject: `objects/${n}`,
      time: new Date().toISOString(),
      data: {
        bucket: 'landing',
        name: n,
        generation,
        size,
        contentType: 'text/csv',
        metadata,
      },
    };
  });
const plausiblePubsub = fc
  .record({
    body: fc.oneof(
      fc.record(
        {
          dag: fc.oneof(
            fc.constantFrom('refresh', 'refresh', 'load_a', 'not_allowed'),
            nasty,
          ),
          params: fc.oneof(
            fc.jsonValue({maxDepth: 4}),
            fc.string({minLength: 1000, maxLength: 4000}),
          ),
        },
        {requiredKeys: []},
      ),
      fc.jsonValue({maxDepth: 3}),
    ),
    raw: fc.option(nasty, {freq: 4}),
    attributes: fc.dictionary(fc.oneof(fc.constant('who'), nasty), nasty, {
      maxKeys: 4,
    }),
    id: fc.uuid(),
  })
  .map(({body, raw, attributes, id}) => ({
    specversion: '1.0',
    id,
    type: PUBSUB_PUBLISHED,
    source: '//pubsub.googleapis.com/projects/p/topics/commands',
    time: new Date().toISOString(),
    data: {
      subscription: 'projects/p/subscriptions/s',
      message: {
        data: Buffer.from(raw ?? JSON.stringify(body) ?? '').toString('base64'),
        attributes,
        messageId: id,
      },
    },
  }));

const delivery = fc.oneof(
  {weight: 3, arbitrary: plausibleStorage},
  {weight: 3, arbitrary: plausiblePubsub},
  {weight: 3, arbitrary: cloudEvent},
  {weight: 2, arbitrary: legacy},
  {weight: 1, arbitrary: anyJson},
  {weight: 1, arbitrary: trickyDelivery},
);

/** Binary content mode carries the context attributes in headers: only printable strings survive that. */
function asBinary(event: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event)) {
    if (k === 'data') out.data = v;
    else if (typeof v === 'string' && /^[a-z0-9]{1,20}$/.test(k))
      out[k] = v.replace(/[^\x20-\x7e]/g, '?');
  }
  return out;
}

describe('hostile input (fast-check)', () => {
  let af: AirflowStandIn;
  let config: LauncherConfig;
  const logLines: Record<string, unknown>[] = [];
  /** What the assertions read of each record: keeping whole records (10 MB events) would grow the heap every GC walks. */
  const deadLetters: Pick<DeadLetterRecord, 'reason' | 'route'>[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  before(async () => {
    af = await new AirflowStandIn('v2', {
      load_a: {},
      load_b: {},
      load_c: {},
      load_files: {},
      refresh: {},
      not_allowed: {},
    }).start();
    config = compileConfig(rawConfig(af.url), 'fuzz');
    process.on('unhandledRejection', onUnhandled);
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await af?.stop();
  });

  test('every delivery ends in a defined outcome; DAGs stay inside allowlists; confs stay under the cap', async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString('utf8').split('\n'))
          if (l.trim()) logLines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const handle = createHandler({
      config,
      logger: createLogger(sink, {GOOGLE_CLOUD_PROJECT: 'fuzz'}),
      targets: buildTargets(config, {}),
      deadLetters: {
        write: async r => {
          deadLetters.push({reason: r.reason, route: r.route});
          return 'memory';
        },
      },
    });
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(delivery, async event => {
        const linesBefore = logLines.length;
        const deadBefore = deadLetters.length;
        const runsBefore = [...af.runs.values()].reduce(
          (n, r) => n + r.length,
          0,
        );
        try {
          await handle(event);
        } catch (err) {
          assert.ok(
            err instanceof RedeliverError,
            `only a deliberate redelivery may escape: ${String(err)}`,
          );
        }
        await new Promise(r => setImmediate(r)); // let pino flush
        const lines = logLines.slice(linesBefore).filter(l => 'outcome' in l);
        assert.ok(lines.length >= 1, 'at least one outcome line');
        for (const l of lines)
          assert.ok(
            OUTCOMES.has(String(l.outcome)),
            `defined outcome: ${String(l.outcome)}`,
          );
        const rejected = lines.filter(
          l => l.outcome === 'rejected' || l.outcome === 'expired',
        ).length;
        assert.equal(
          deadLetters.length - deadBefore,
          rejected,
          'one dead letter per rejected/expired line',
        );
        const runsAfter = [...af.runs.values()].reduce(
          (n, r) => n + r.length,
          0,
        );
        const triggered = lines.filter(l => l.outcome === 'triggered').length;
        assert.equal(
          runsAfter - runsBefore,
          triggered,
          'a run exactly for each triggered line',
        );
        runs += triggered;
      }),
      {
        numRuns: Number(process.env.FUZZ_RUNS ?? 1500),
        seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined,
      },
    );
    await new Promise(r => setTimeout(r, 50));
    assert.deepEqual(unhandled, [], 'no unhandled rejections');
    assert.equal(
      af.runsOf('not_allowed').length,
      0,
      'never a DAG outside the allowlist',
    );
    assert.equal(
      af.runsOf('load_c').length,
      0,
      'never a DAG outside the allowlist',
    );
    for (const [dag, list] of af.runs) {
      for (const run of list)
        assert.ok(
          Buffer.byteLength(JSON.stringify(run.conf)) <= MAX_CONF,
          `conf of ${dag} under the cap`,
        );
    }
    // The generator must reach every side of the contract, or the properties above prove little.
    const reached = {
      runs,
      overCap: deadLetters.filter(d => /over maxConfBytes/.test(d.reason))
        .length,
      outsideAllowlist: deadLetters.filter(d =>
        /not in the route's allowedDags/.test(d.reason),
      ).length,
      invalidDagId: deadLetters.filter(d =>
        /not a valid Airflow dag_id/.test(d.reason),
      ).length,
      unreadable: deadLetters.filter(d => d.route === undefined).length,
      unmatched: logLines.filter(l => l.outcome === 'unmatched').length,
    };
    for (const [what, n] of Object.entries(reached))
      assert.ok(
        n > 0,
        `the generator reaches ${what}: ${JSON.stringify(reached)}`,
      );
    assert.deepEqual(
      af.invalidRequests,
      [],
      'every request Airflow got is valid against its spec',
    );
  });

  test('deep, maximum-size, prototype-keyed and control-character deliveries: each decided in its CPU budget, rejected ones dead-lettered with a line under 256 KB', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const records: Pick<DeadLetterRecord, 'reason'>[] = [];
    const handle = createHandler({
      config,
      logger: createLogger(sink, {GOOGLE_CLOUD_PROJECT: 'fuzz'}),
      targets: buildTargets(config, {}),
      deadLetters: {
        write: async r => {
          records.push({reason: r.reason});
          return 'memory';
        },
      },
    });
    const over: string[] = [];
    const check = async (event: unknown) => {
      const linesBefore = lines.length;
      const recordsBefore = records.length;
      const bytes = deliveryBytes(event);
      // process.cpuUsage is process-wide: a GC, a first RE2 compile or a loaded machine lands on whichever
      // delivery runs. An over-budget delivery is measured again (a redelivery), and the least of five counts:
      // noise falls away, a delivery that really costs too much stays over.
      let ms = await cpuOfDelivery(handle, event);
      for (let i = 0; i < 4 && ms > CPU_BUDGET_MS; i++)
        ms = Math.min(ms, await cpuOfDelivery(handle, event));
      if (ms > CPU_BUDGET_MS)
        over.push(
          `${String((event as {id: string}).id).slice(0, 40)}: ${ms.toFixed(1)} ms for ${bytes} bytes`,
        );
      await new Promise(r => setImmediate(r));
      const outcomes = lines
        .slice(linesBefore)
        .map(l => JSON.parse(l) as Record<string, unknown>)
        .filter(l => 'outcome' in l);
      assert.ok(outcomes.length >= 1, 'at least one outcome line');
      for (const l of lines.slice(linesBefore))
        assert.ok(Buffer.byteLength(l) < 256 * 1024, 'line under 256 KB');
      const dead = outcomes.filter(
        l => l.outcome === 'rejected' || l.outcome === 'expired',
      ).length;
      assert.equal(records.length - recordsBefore, dead, 'a record each');
    };
    for (const event of fc.sample(bigDelivery, 40)) await check(event);
    await fc.assert(fc.asyncProperty(hostileDelivery, check), {
      numRuns: Number(process.env.FUZZ_HOSTILE_RUNS ?? 300),
    });
    assert.deepEqual(over, [], 'deliveries over their CPU budget');
    assert.ok(
      records.some(r => /nested more than 100 levels/.test(r.reason)) &&
        records.some(r => /over Pub\/Sub's/.test(r.reason)) &&
        records.some(r => /over Cloud Storage's/.test(r.reason)),
      'the generators reach the depth and size limits',
    );
  });

  test('raw deliveries to the function under functions-framework: it answers every one and stays up', async () => {
    const fn = await FunctionProcess.start(rawConfig(af.url));
    try {
      await fc.assert(
        fc.asyncProperty(delivery, fc.boolean(), async (event, binary) => {
          const res =
            binary &&
            event &&
            typeof event === 'object' &&
            !Array.isArray(event)
              ? await fn.sendBinary(asBinary(event as Record<string, unknown>))
              : await fn.sendLegacy(event);
          assert.ok(
            res.status >= 200 && res.status < 600,
            `an HTTP answer (${res.status})`,
          );
          assert.equal(fn.exitCode, null, 'the process is still running');
        }),
        {numRuns: Number(process.env.FUZZ_HTTP_RUNS ?? 200)},
      );
      assert.ok(
        !fn.rawOutput.some(l => /unhandled|uncaught/i.test(l)),
        'no unhandled error in the output',
      );
    } finally {
      await fn.stop();
    }
  });
});
