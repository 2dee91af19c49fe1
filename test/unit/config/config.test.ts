/**
 * Over 300 lines: one case per config rule, read as the README's key table.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {compileConfig} from '../../../src/config/compile';
import {
  loadConfig,
  loadConfigFile,
  parseConfigText,
} from '../../../src/config/load';
import {ConfigError} from '../../../src/core/errors';
import {refreshIntervalMs} from '../../../src/config/gcs-source';
import {REPO} from '../../support/paths';
import {resolve} from 'node:path';

function problems(raw: unknown): string[] {
  try {
    compileConfig(raw, 'test');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('config was accepted');
}

const env = {local: {url: 'http://127.0.0.1:8080', api: 'v2'}};

test('the shipped example config is valid', () => {
  const c = loadConfigFile(resolve(REPO, 'deploy/launcher.example.yaml'));
  assert.equal(c.routes.length, 4);
  assert.equal(c.maxEventAgeMs, 6 * 3600_000);
});

test('every problem is reported with its path, shape and meaning together', () => {
  const p = problems({
    environments: {a: {url: 'ftp://x', api: 'v3'}},
    routes: [
      {
        name: 'r1',
        environment: 'nope',
        dag: '{{ json.dag }}',
        conf: {x: '{{ nosuchvar }}'},
        match: {name: {regex: '('}},
      },
      {name: 'bad name!', dag: 'd'},
    ],
    unknownKey: 1,
  });
  const want = [
    /^environments\.a\.url: /,
    /^environments\.a\.api: /,
    /^routes\.1\.name: /,
    /^\(root\): .*unknownKey/,
    /^routes\.0\.environment: unknown environment 'nope'/,
    /^routes\.0\.match\.name: Invalid regular expression/,
    /^routes\.0\.allowedDags: required because dag/,
    /^routes\.0\.conf\.x: unknown variable 'nosuchvar'/,
  ];
  for (const re of want)
    assert.ok(
      p.some(l => re.test(l)),
      `missing ${re} in\n${p.join('\n')}`,
    );
});

test('template, dag id, allowlist, duplicates, timeouts and environment choice are checked', () => {
  const p = problems({
    environments: {a: env.local, b: env.local},
    routes: [
      {name: 'x', environment: 'a', dag: 'has space'},
      {name: 'x', environment: 'a', dag: 'd', allowedDags: ['e']},
      {name: 'y', dag: 'd'},
      {
        name: 'z',
        environment: 'a',
        dag: 'd',
        conf: {
          a: '{{ json | nofilter }}',
          b: '{{ json.x ',
          c: '{{ x | default: nope }}',
        },
      },
      {name: 'w', environment: 'a', dag: 'd', conf: ['list']},
    ],
    requestTimeout: '90s',
    functionTimeout: '60s',
  });
  for (const re of [
    /^routes\.0\.dag: 'has space' is not a valid Airflow dag_id/,
    /^routes\.1\.name: duplicate route name 'x'/,
    /^routes\.1\.dag: 'd' is not in allowedDags/,
    /^routes\.2\.environment: required when more than one/,
    /^routes\.3\.conf\.a: unknown filter 'nofilter'/,
    /^routes\.3\.conf\.b: unclosed/,
    /^routes\.3\.conf\.c: .*unknown variable 'x'|default value nope/,
    /^routes\.4\.conf: must be an object/,
    /^requestTimeout: 90000ms must be below functionTimeout 60000ms/,
  ]) {
    assert.ok(
      p.some(l => re.test(l)),
      `missing ${re} in\n${p.join('\n')}`,
    );
  }
});

test('durations: 30s, 5m, 6h, 1d, 250ms and plain seconds', () => {
  const c = compileConfig(
    {
      environments: env,
      routes: [{name: 'r', dag: 'd'}],
      maxEventAge: '1d',
      requestTimeout: 2.5,
      functionTimeout: '5m',
    },
    't',
  );
  assert.deepEqual(
    [c.maxEventAgeMs, c.requestTimeoutMs, c.functionTimeoutMs],
    [86_400_000, 2500, 300_000],
  );
  assert.match(
    problems({
      environments: env,
      routes: [{name: 'r', dag: 'd'}],
      maxEventAge: 'soon',
    })[0]!,
    /maxEventAge: expected a duration/,
  );
});

test('JSON configs and YAML configs; broken syntax is a ConfigError naming the file', () => {
  assert.equal(
    parseConfigText(
      JSON.stringify({environments: env, routes: [{name: 'r', dag: 'd'}]}),
      'c.json',
    ).routes.length,
    1,
  );
  assert.equal(
    parseConfigText(
      'environments:\n  local: {url: "http://127.0.0.1:1", api: v1}\nroutes: [{name: r, dag: d}]\n',
      'c.yaml',
    ).routes.length,
    1,
  );
  assert.throws(
    () => parseConfigText('{', 'c.json'),
    (e: unknown) =>
      e instanceof ConfigError &&
      /c\.json/.test(e.message) &&
      /not valid JSON/.test(e.message),
  );
  assert.throws(() => parseConfigText('a: [', 'c.yaml'), /not valid YAML/);
});

test('env-only quick mode: AIRFLOW_URL + AIRFLOW_DAG_ID trigger one DAG for every event', () => {
  const c = loadConfig(
    {
      AIRFLOW_URL: 'https://airflow.example.com/',
      AIRFLOW_DAG_ID: 'my_dag',
      AIRFLOW_API: 'v1',
      LAUNCHER_MAX_EVENT_AGE: '2h',
    },
    '/nonexistent',
  );
  assert.equal(
    c.environments.get('default')!.url,
    'https://airflow.example.com',
  );
  assert.equal(c.environments.get('default')!.api, 'v1');
  assert.equal(c.environments.get('default')!.auth.mode, 'google');
  assert.equal(c.routes[0]!.name, 'default');
  assert.equal(c.maxEventAgeMs, 7_200_000);
  assert.throws(
    () => loadConfig({AIRFLOW_URL: 'https://a'}, '/nonexistent'),
    /AIRFLOW_DAG_ID: required/,
  );
  assert.throws(() => loadConfig({}, '/nonexistent'), /no configuration/);
});

test('LAUNCHER_CONFIG is read relative to the function source directory', () => {
  const c = loadConfig({LAUNCHER_CONFIG: 'deploy/launcher.example.yaml'}, REPO);
  assert.match(c.origin, /launcher\.example\.yaml$/);
});

test('transport safety: plain http only for loopback, auth none only for loopback, passwords only from env vars', () => {
  const one = (e: Record<string, unknown>) =>
    problems({environments: {e}, routes: [{name: 'r', dag: 'd'}]});
  assert.match(
    one({url: 'http://airflow.example.com', api: 'v2'})[0]!,
    /plain http:\/\/ is refused for non-loopback/,
  );
  assert.match(
    one({url: 'https://airflow.example.com', api: 'v2', auth: 'none'})[0]!,
    /only allowed for loopback/,
  );
  assert.match(
    one({
      url: 'https://a.example.com',
      api: 'v1',
      auth: {mode: 'basic', username: 'u', password: 'p'},
    })[0]!,
    /password/,
  );
  for (const url of [
    'http://127.0.0.1:8080',
    'http://localhost:1',
    'http://[::1]:8080',
  ]) {
    assert.equal(
      compileConfig(
        {
          environments: {e: {url, api: 'v2', auth: 'none'}},
          routes: [{name: 'r', dag: 'd'}],
        },
        't',
      ).environments.size,
      1,
    );
  }
  const c = compileConfig(
    {
      environments: {
        e: {
          url: 'https://a.example.com',
          api: 'experimental',
          auth: {mode: 'basic', username: 'u'},
        },
      },
      routes: [{name: 'r', dag: 'd'}],
    },
    't',
  );
  assert.deepEqual(c.environments.get('e')!.auth, {
    mode: 'basic',
    username: 'u',
    passwordEnv: 'AIRFLOW_PASSWORD',
  });
});

test('deadLetters: gs://bucket/prefix/ parsed (a trailing slash added), anything else refused; quick mode takes LAUNCHER_DEAD_LETTERS', () => {
  const route = [{name: 'r', dag: 'd'}];
  assert.deepEqual(
    compileConfig(
      {
        environments: env,
        routes: route,
        deadLetters: 'gs://my-bucket/launcher/dl',
      },
      't',
    ).deadLetters,
    {bucket: 'my-bucket', prefix: 'launcher/dl/'},
  );
  assert.deepEqual(
    compileConfig(
      {environments: env, routes: route, deadLetters: 'gs://my-bucket'},
      't',
    ).deadLetters,
    {bucket: 'my-bucket', prefix: ''},
  );
  assert.equal(
    compileConfig({environments: env, routes: route}, 't').deadLetters,
    undefined,
  );
  for (const bad of [
    's3://b/p',
    'gs://',
    'gs://UPPER/x',
    'gs://ab/x',
    '/tmp/dl',
  ]) {
    assert.match(
      problems({environments: env, routes: route, deadLetters: bad}).join('\n'),
      /deadLetters: expected gs:\/\/bucket\/prefix\//,
      bad,
    );
  }
  const quick = loadConfig({
    AIRFLOW_URL: 'http://127.0.0.1:8080',
    AIRFLOW_DAG_ID: 'd',
    LAUNCHER_DEAD_LETTERS: 'gs://dl-bucket/x/',
  });
  assert.deepEqual(quick.deadLetters, {bucket: 'dl-bucket', prefix: 'x/'});
});

test('retry: defaults, durations, and bounds', () => {
  const route = [{name: 'r', dag: 'd'}];
  assert.deepEqual(
    compileConfig({environments: env, routes: route}, 't').retry,
    {attempts: 4, initialBackoffMs: 250, maxBackoffMs: 8000},
  );
  assert.deepEqual(
    compileConfig(
      {
        environments: env,
        routes: route,
        retry: {attempts: 2, initialBackoff: '1s'},
      },
      't',
    ).retry,
    {attempts: 2, initialBackoffMs: 1000, maxBackoffMs: 8000},
  );
  assert.match(
    problems({environments: env, routes: route, retry: {attempts: 0}}).join(
      '\n',
    ),
    /retry\.attempts/,
  );
  assert.match(
    problems({environments: env, routes: route, retry: {tries: 3}}).join('\n'),
    /retry/,
  );
});

test('shape problems say what is missing, unknown or expected, and the defaults are filled in', () => {
  const p = problems({
    environments: {
      a: {url: 'https://a.example.com', auth: {mode: 'oauth'}},
      b: {api: 'v2'},
    },
    routes: [
      {name: 'r', dag: 'd', match: {json: {n: {glob: 3}}}},
      {dag: 'd'},
      'r',
    ],
    maxConfBytes: 1.5,
  });
  for (const line of [
    "environments.a.auth.mode: expected one of google, iap, basic, airflow-jwt, none, got 'oauth'",
    'environments.b: give exactly one of url and composer',
    'routes.0.match.json.n: expected a string, number, true/false, null, a list of strings, or one of {glob}, {regex}, {prefix}, {suffix}, {exists}',
    'routes.1.name: required; add it',
    "routes.2: expected an object, got 'r'",
    'maxConfBytes: expected a whole number, got 1.5',
  ]) {
    assert.ok(p.includes(line), `missing ${line} in\n${p.join('\n')}`);
  }
  const c = compileConfig(
    {
      environments: {a: {url: 'https://a.example.com'}},
      routes: [{name: 'r', dag: 'd'}],
    },
    't',
  );
  assert.deepEqual(c.environments.get('a'), {
    name: 'a',
    url: 'https://a.example.com',
    composer: undefined,
    api: 'auto',
    auth: {
      mode: 'google',
      scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    },
  });
  assert.deepEqual(
    [c.maxConfBytes, c.requestTimeoutMs, c.functionTimeoutMs, c.maxEventAgeMs],
    [65536, 30_000, 60_000, 21_600_000],
  );
  assert.equal(c.routes[0]!.conditions.length, 0);
});

/** A message says how to fix the problem: what is expected, or what to do. */
const FIX =
  /\b(expected|available|add|remove|use|rename|raise|lower|list|name one|split|wrap|write|give|correct)\b/;

test('one pass lists every problem of a config broken in every way, each saying how to fix it', () => {
  const p = problems({
    environments: {
      a: {url: 'https://a.example.com', api: 'v2', extra: 1},
      b: {url: 'http://airflow.example.com', api: 'v2'},
    },
    routes: [
      {
        name: 'r1',
        enviroment: 'a',
        environment: 'nope',
        dag: '..',
        match: {metadata: {k: {glob: 3}, ok: 'x'}},
        conf: {x: '{{ nosuchvar }}'},
      },
      {
        name: 'bad name!',
        environment: 'a',
        match: {type: 'pubsub', bucket: 'b'},
        dag: 'd',
        conf: {f: '{{ name }}'},
      },
      {
        name: 'r1',
        environment: 'a',
        match: {
          type: 'pubsub',
          topic: ['orders', 'projects/p/topics/returns'],
        },
        dag: '.',
      },
      {
        name: 'both',
        environment: 'a',
        match: {bucket: 'b', attributes: {kind: 'x'}},
        dag: '{{ json.dag }}',
      },
      {name: 'allow', environment: 'a', dag: 'd', allowedDags: ['e', '..']},
    ],
    maxEventAge: '0s',
    requestTimeout: '90s',
    functionTimeout: '60s',
    retry: {attempts: 0, initialBackoff: '2s', maxBackoff: '500ms'},
    extra: true,
  });
  const want = [
    /^environments\.a: unknown key 'extra'/,
    /^environments\.b\.url: plain http:\/\//,
    /^routes\.0: unknown key 'enviroment'/,
    /^routes\.0\.environment: unknown environment 'nope'; use one of a, b/,
    /^routes\.0\.dag: '\.\.' cannot be a dag_id/,
    /^routes\.0\.match\.metadata\.k: expected/,
    /^routes\.0\.conf\.x: unknown variable 'nosuchvar'/,
    /^routes\.1\.name: expected a route name/,
    /^routes\.1\.match\.bucket: a Cloud Storage field, but this route matches only Pub\/Sub events/,
    /^routes\.1\.conf\.f: \{\{ name \}\} reads 'name', a Cloud Storage variable/,
    /^routes\.2\.name: duplicate route name 'r1'/,
    /^routes\.2\.match\.topic: mixes topic ids \(orders\) with full names/,
    /^routes\.2\.dag: '\.' cannot be a dag_id/,
    /^routes\.3\.match: bucket \(Cloud Storage\) with attributes \(Pub\/Sub\)/,
    /^routes\.3\.allowedDags: required because dag/,
    /^routes\.4\.allowedDags: '\.\.' cannot be a dag_id/,
    /^routes\.4\.dag: 'd' is not in allowedDags/,
    /^maxEventAge: "0s" is no time at all/,
    /^requestTimeout: 90000ms must be below functionTimeout 60000ms/,
    /^retry\.attempts: expected at least 1/,
    /^retry\.maxBackoff: 500ms is below retry\.initialBackoff 2000ms/,
    /^\(root\): unknown key 'extra'/,
  ];
  for (const re of want)
    assert.ok(
      p.some(l => re.test(l)),
      `missing ${re} in\n${p.join('\n')}`,
    );
  assert.equal(p.length, want.length, p.join('\n'));
  for (const line of p) assert.match(line, FIX, `no fix in: ${line}`);
});

test('a shape error hides no config-wide check: at least one environment, requestTimeout below functionTimeout', () => {
  const p = problems({
    environments: {},
    routes: [{name: 'r', dag: 'd', dga: 'typo'}],
    requestTimeout: '2m',
  });
  for (const re of [
    /^routes\.0: unknown key 'dga'/,
    /^environments: at least one Airflow environment is required; add one/,
    /^requestTimeout: 120000ms must be below functionTimeout 60000ms/,
  ])
    assert.ok(
      p.some(l => re.test(l)),
      `missing ${re} in\n${p.join('\n')}`,
    );
  assert.equal(p.length, 3, p.join('\n'));
  for (const line of p) assert.match(line, FIX, `no fix in: ${line}`);
});

test('configs that can never work are refused, each on its own', () => {
  const one = (over: Record<string, unknown>, route: Record<string, unknown>) =>
    problems({
      environments: env,
      routes: [{name: 'r', dag: 'd', ...route}],
      ...over,
    }).join('\n');
  const cases: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
    [{requestTimeout: '0ms'}, {}, /^requestTimeout: "0ms" is no time at all/],
    [{requestTimeout: 0.0001}, {}, /^requestTimeout: .*no time at all/],
    [{maxEventAge: '0s'}, {}, /^maxEventAge: "0s" is no time at all/],
    [{maxEventAge: 0}, {}, /^maxEventAge: 0 is no time at all/],
    [{retry: {initialBackoff: '0ms'}}, {}, /^retry\.initialBackoff: .*no time/],
    [
      {retry: {maxBackoff: '100ms'}},
      {},
      /^retry\.maxBackoff: 100ms is below retry\.initialBackoff 250ms/,
    ],
    [{}, {match: {type: 'pubsub', bucket: 'b'}}, /match\.bucket: a Cloud/],
    [
      {},
      {match: {type: 'pubsub', metadata: {source: 'erp'}}},
      /match\.metadata: a Cloud Storage field/,
    ],
    [
      {},
      {match: {type: 'storage', attributes: {kind: 'x'}}},
      /match\.attributes: a Pub\/Sub field/,
    ],
    [{}, {match: {type: 'storage', json: {a: 1}}}, /match\.json: a Pub\/Sub/],
    [
      {},
      {match: {type: 'pubsub'}, conf: {n: 'loaded {{ name }}'}},
      /^routes\.0\.conf\.n: \{\{ name \}\} reads 'name', a Cloud Storage variable, but this route matches only Pub\/Sub events/,
    ],
    [
      {},
      {match: {type: 'pubsub'}, note: 'from {{ metadata.source }}'},
      /^routes\.0\.note: \{\{ metadata\.source \}\} reads 'metadata'/,
    ],
    [
      {},
      {match: {type: 'storage'}, dag: '{{ json.dag }}', allowedDags: ['d']},
      /^routes\.0\.dag: \{\{ json\.dag \}\} reads 'json', a Pub\/Sub variable/,
    ],
    [
      {},
      {match: {bucket: {prefix: 'x'}}, conf: {t: '{{ text }}'}},
      /^routes\.0\.conf\.t: .*match\.bucket is a Cloud Storage field/,
    ],
    [{}, {match: {bucket: 'b', topic: 't'}}, /^routes\.0\.match: bucket/],
    [
      {},
      {match: {topic: ['projects/p/topics/a', 'b']}},
      /^routes\.0\.match\.topic: mixes topic ids \(b\)/,
    ],
    [
      {},
      {match: {topic: 'p/topics/a'}},
      /^routes\.0\.match\.topic: 'p\/topics\/a' is neither a topic id nor a full name/,
    ],
    [{}, {dag: '.'}, /^routes\.0\.dag: '\.' cannot be a dag_id/],
    [{}, {dag: '..'}, /^routes\.0\.dag: '\.\.' cannot be a dag_id/],
    [
      {},
      {dag: '{{ json.d }}', allowedDags: ['ok', '.']},
      /^routes\.0\.allowedDags: '\.' cannot be a dag_id/,
    ],
  ];
  for (const [over, route, re] of cases) {
    const text = one(over, route);
    assert.match(text, re, JSON.stringify({over, route}));
    for (const line of text.split('\n')) assert.match(line, FIX, line);
  }
});

test('what still works is still accepted: defaults across kinds, {exists: false}, one topic form, two-kind routes, dotted dag ids', () => {
  const accepted = (route: Record<string, unknown>) =>
    compileConfig(
      {environments: env, routes: [{name: 'r', dag: 'd', ...route}]},
      't',
    ).routes.length;
  for (const route of [
    {match: {type: 'pubsub'}, conf: {n: '{{ name | default: null }}'}},
    {match: {type: 'pubsub', metadata: {x: {exists: false}}}},
    {match: {topic: ['projects/p/topics/a', 'projects/q/topics/b']}},
    {match: {topic: ['a', 'b']}},
    {match: {topic: {prefix: 'projects/p/topics/'}}},
    {match: {type: ['storage', 'pubsub']}, note: '{{ name }} {{ topic }}'},
    {dag: 'a.b'},
    {dag: '...'},
  ])
    assert.equal(accepted(route), 1, JSON.stringify(route));
  assert.equal(refreshIntervalMs('0s'), 0);
  assert.equal(refreshIntervalMs('0'), 0);
});

test('an environment url with user info, a query or a fragment is refused, saying where credentials go and never echoing the password', () => {
  const one = (url: string) =>
    problems({
      environments: {e: {url, api: 'v2'}},
      routes: [{name: 'r', dag: 'd'}],
    });
  const found = one('https://user:s3cretPw@airflow.example.com/home?x=1#f');
  assert.equal(found.length, 1);
  assert.match(
    found[0]!,
    /^environments\.e\.url: remove the user info \(user:password@\), query \(\?…\), fragment \(#…\); .*credentials go in auth .*passwordEnv/,
  );
  assert.ok(!found.join('\n').includes('s3cretPw'), 'the password is echoed');
  assert.match(one('https://airflow.example.com/?x=1')[0]!, /remove the query/);
  assert.match(
    one('https://airflow.example.com/#top')[0]!,
    /remove the fragment/,
  );
  // A path prefix (a reverse proxy) stays allowed.
  const proxied = compileConfig(
    {
      environments: {e: {url: 'https://proxy.example.com/airflow', api: 'v2'}},
      routes: [{name: 'r', dag: 'd'}],
    },
    'test',
  );
  assert.equal(
    proxied.environments.get('e')!.url,
    'https://proxy.example.com/airflow',
  );
});

test('logicalDate, dataInterval and asset templates are checked for the other event kind too', () => {
  const one = (route: Record<string, unknown>) =>
    problems({environments: env, routes: [{name: 'r', ...route}]});
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      {dag: 'd', match: {type: 'pubsub'}, logicalDate: '{{ timeCreated }}'},
      /^routes\.0\.logicalDate: \{\{ timeCreated \}\} reads 'timeCreated', a Cloud Storage variable, but this route matches only Pub\/Sub events \(match\.type: pubsub\), so it never has a value; use a Pub\/Sub variable .* or add '\| default: \.\.\.'$/,
    ],
    [
      {
        dag: 'd',
        match: {type: 'storage'},
        logicalDate: '{{ event.time }}',
        dataInterval: {start: '{{ json.from }}', end: '{{ event.time }}'},
      },
      /^routes\.0\.dataInterval\.start: \{\{ json\.from \}\} reads 'json', a Pub\/Sub variable, but this route matches only Cloud Storage events/,
    ],
    [
      {
        dag: 'd',
        match: {bucket: 'lake'},
        logicalDate: '{{ event.time }}',
        dataInterval: {start: '{{ event.time }}', end: '{{ attributes.end }}'},
      },
      /^routes\.0\.dataInterval\.end: \{\{ attributes\.end \}\} reads 'attributes', a Pub\/Sub variable, .*\(match\.bucket is a Cloud Storage field\)/,
    ],
    [
      {asset: {uri: 'gs://lake/{{ bucket }}'}, match: {type: 'pubsub'}},
      /^routes\.0\.asset\.uri: \{\{ bucket \}\} reads 'bucket', a Cloud Storage variable, but this route matches only Pub\/Sub events/,
    ],
    [
      {
        asset: {uri: 'gs://lake/sales', extra: {file: {name: '{{ name }}'}}},
        match: {topic: 'sales'},
      },
      /^routes\.0\.asset\.extra\.file\.name: \{\{ name \}\} reads 'name', a Cloud Storage variable, .*\(match\.topic is a Pub\/Sub field\)/,
    ],
  ];
  for (const [route, re] of cases) {
    const p = one(route);
    assert.equal(p.length, 1, p.join('\n'));
    assert.match(p[0]!, re);
    assert.match(p[0]!, FIX);
  }
  // `| default` and both-kind routes stay accepted.
  for (const route of [
    {
      asset: {uri: 'gs://lake/{{ name | default: "x" }}'},
      match: {type: 'pubsub'},
    },
    {dag: 'd', match: {type: 'storage'}, logicalDate: '{{ timeCreated }}'},
    {
      dag: 'd',
      match: {type: ['storage', 'pubsub']},
      logicalDate: '{{ event.time }}',
    },
  ])
    assert.equal(
      compileConfig({environments: env, routes: [{name: 'r', ...route}]}, 't')
        .routes.length,
      1,
      JSON.stringify(route),
    );
});

test('an asset route on an environment whose API cannot create asset events is refused, saying what to do; auto, v1 and v2 are accepted', () => {
  const composer = 'projects/p/locations/l/environments/e';
  const withApi = (environment: Record<string, unknown>) => ({
    environments: {lake: environment},
    routes: [{name: 'sales', asset: {uri: 'gs://lake/sales'}}],
  });
  const experimental = problems(
    withApi({url: 'https://airflow.example.com', api: 'experimental'}),
  );
  assert.deepEqual(experimental, [
    "routes.0.asset: environment 'lake' uses api: experimental (Airflow 1.10's API), which cannot create asset events; use api: v1 (Airflow 2.9+), v2 (Airflow 3) or auto for that environment, or trigger the DAGs with dag: routes instead",
  ]);
  const cli = problems(withApi({composer, api: 'composer-cli'}));
  assert.equal(cli.length, 1, cli.join('\n'));
  assert.match(
    cli[0]!,
    /^routes\.0\.asset: environment 'lake' uses api: composer-cli, and the Airflow CLI it runs has no command that creates an asset event; trigger the DAGs scheduled on the asset with dag: routes instead/,
  );
  for (const line of [...experimental, ...cli]) assert.match(line, FIX);
  // Listed with the route's other problems, in one pass.
  const many = problems({
    environments: {lake: {composer, api: 'composer-cli'}},
    routes: [
      {
        name: 'sales',
        asset: {uri: 'gs://lake/{{ json.table }}'},
        match: {type: 'storage', name: {regex: '^x(?:(?:a{100}){100})$'}},
        note: 'n',
      },
    ],
  });
  for (const re of [
    /^routes\.0\.asset: environment 'lake' uses api: composer-cli/,
    /^routes\.0\.note: an asset event has no note/,
    /^routes\.0\.match\.name: regex .* cannot run on the linear-time engine \(RE2\): invalid repeat count/,
    /^routes\.0\.asset\.uri: \{\{ json\.table \}\} reads 'json', a Pub\/Sub variable/,
  ])
    assert.ok(
      many.some(l => re.test(l)),
      `missing ${re} in\n${many.join('\n')}`,
    );
  assert.equal(many.length, 4, many.join('\n'));
  for (const environment of [
    {url: 'https://airflow.example.com'},
    {url: 'https://airflow.example.com', api: 'v1'},
    {url: 'https://airflow.example.com', api: 'v2'},
    {composer},
  ])
    assert.ok(
      compileConfig(withApi(environment), 't').routes[0]!.asset,
      JSON.stringify(environment),
    );
});

test('what RE2 refuses is a problem of the config itself, in the same list as the others, whoever compiles it', () => {
  const p = problems({
    environments: env,
    routes: [
      {name: 'r', dag: 'd', dga: 'typo'},
      {
        name: 'nested',
        dag: 'd',
        match: {name: {regex: '^x(?:(?:a{100}){100})$'}},
      },
      {name: 'range', dag: 'd', match: {name: {glob: 'in/[z-a]*.csv'}}},
    ],
    requestTimeout: '2m',
  });
  for (const re of [
    /^routes\.0: unknown key 'dga'/,
    /^routes\.1\.match\.name: regex "\^x\(\?:\(\?:a\{100\}\)\{100\}\)\$" cannot run on the linear-time engine \(RE2\): invalid repeat count: `\{100\}`\. RE2 allows repeat counts up to \{1000\}, nested ones included/,
    /^routes\.2\.match\.name: glob "in\/\[z-a\]\*\.csv" cannot run on the linear-time engine \(RE2\): invalid character class range: `z-a`\. A range runs from the lower character to the higher: write \[a-z\], not \[z-a\]\.$/,
    /^requestTimeout: 120000ms must be below functionTimeout 60000ms/,
  ])
    assert.ok(
      p.some(l => re.test(l)),
      `missing ${re} in\n${p.join('\n')}`,
    );
  assert.equal(p.length, 4, p.join('\n'));
  for (const line of p) assert.match(line, FIX, `no fix in: ${line}`);
});
