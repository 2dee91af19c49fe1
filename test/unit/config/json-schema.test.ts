/**
 * launcher.schema.json: generated from the checks the launcher runs, so
 * editors and the launcher agree on what a config file may be.
 */
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {resolve} from 'node:path';
import Ajv from 'ajv';
import {parse} from 'yaml';
import {launcherJsonSchema} from '../../../src/config/json-schema';
import {run} from '../../../src/config/check';
import {ConfigSchema} from '../../../src/config/schema';
import {REPO} from '../../support/paths';

const committed = JSON.parse(
  readFileSync(resolve(REPO, 'launcher.schema.json'), 'utf8'),
) as Record<string, unknown>;
const validate = new Ajv({
  allErrors: true,
  strict: true,
  strictRequired: false,
}).compile(committed);
const exampleText = readFileSync(
  resolve(REPO, 'deploy/launcher.example.yaml'),
  'utf8',
);
const example = parse(exampleText) as Record<string, unknown>;
const env = {main: {url: 'https://airflow.example.com', api: 'v2'}};

/** Both verdicts, with the checker's problems and ajv's errors for the message. */
function verdicts(config: unknown) {
  const checker = run(ConfigSchema, config);
  const schema = validate(config);
  return {
    checker: checker.ok,
    schema,
    why: checker.ok
      ? JSON.stringify(validate.errors?.slice(0, 3))
      : checker.problems.join('; '),
  };
}

test('launcher.schema.json is what `npm run schema` generates (regenerate it after changing src/config/schema.ts)', () => {
  assert.deepEqual(committed, launcherJsonSchema());
});

test('deploy/launcher.example.yaml points editors at the schema, and both accept it', () => {
  assert.match(
    exampleText.split('\n')[0]!,
    /^# yaml-language-server: \$schema=\.\.\/launcher\.schema\.json$/,
  );
  const v = verdicts(example);
  assert.deepEqual([v.checker, v.schema], [true, true], v.why);
});

test('every YAML snippet in README.md: the schema and the checker agree, as written and completed into a config', () => {
  const readme = readFileSync(resolve(REPO, 'README.md'), 'utf8');
  const snippets = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map(
    m => parse(m[1]!) as unknown,
  );
  assert.ok(snippets.length >= 4);
  for (const snippet of snippets) {
    const asIs = verdicts(snippet);
    assert.equal(asIs.schema, asIs.checker, asIs.why);
    const completed = Array.isArray(snippet)
      ? {environments: env, routes: snippet}
      : {
          environments: env,
          routes: [{name: 'r', dag: 'd'}],
          ...(snippet as object),
        };
    const v = verdicts(completed);
    assert.deepEqual([v.checker, v.schema], [true, true], v.why);
  }
});

test('broken configs: the schema refuses what the checker refuses', () => {
  const route = (over: Record<string, unknown>) => ({
    environments: env,
    routes: [{name: 'r', dag: 'd', ...over}],
  });
  const broken: [string, unknown][] = [
    ['not an object', []],
    ['no routes', {environments: env}],
    ['empty routes', {environments: env, routes: []}],
    ['typo at the top', {...example, route: []}],
    ['typo in a route', route({dagg: 'x'})],
    ['route name with a space', route({name: 'a b'})],
    // A route with neither dag nor asset is refused by compile (validate), with the salvage of its other parts, not by shape.
    ['empty dag', route({dag: ''})],
    ['matcher of the wrong shape', route({match: {name: {glob: 1}}})],
    [
      'two matcher kinds in one',
      route({match: {name: {glob: 'a', regex: 'b'}}}),
    ],
    ['empty matcher list', route({match: {bucket: []}})],
    ['unknown match key', route({match: {object: 'x'}})],
    ['allowedDags empty', route({allowedDags: []})],
    [
      'url and composer',
      {
        environments: {
          e: {
            url: 'https://a',
            composer: 'projects/p/locations/l/environments/e',
          },
        },
        routes: [{name: 'r', dag: 'd'}],
      },
    ],
    [
      'neither url nor composer',
      {environments: {e: {api: 'v2'}}, routes: [{name: 'r', dag: 'd'}]},
    ],
    [
      'ftp url',
      {environments: {e: {url: 'ftp://a'}}, routes: [{name: 'r', dag: 'd'}]},
    ],
    [
      'bad composer name',
      {environments: {e: {composer: 'prod'}}, routes: [{name: 'r', dag: 'd'}]},
    ],
    [
      'unknown api',
      {
        environments: {e: {url: 'https://a', api: 'v3'}},
        routes: [{name: 'r', dag: 'd'}],
      },
    ],
    [
      'auth mode unknown',
      {
        environments: {e: {url: 'https://a', auth: 'kerberos'}},
        routes: [{name: 'r', dag: 'd'}],
      },
    ],
    [
      'iap as a bare name (needs audience)',
      {
        environments: {e: {url: 'https://a', auth: 'iap'}},
        routes: [{name: 'r', dag: 'd'}],
      },
    ],
    [
      'basic without username',
      {
        environments: {e: {url: 'https://a', auth: {mode: 'basic'}}},
        routes: [{name: 'r', dag: 'd'}],
      },
    ],
    [
      'password in the file',
      {
        environments: {
          e: {
            url: 'https://a',
            auth: {mode: 'basic', username: 'u', password: 'p'},
          },
        },
        routes: [{name: 'r', dag: 'd'}],
      },
    ],
    [
      'passwordEnv not a variable name',
      {
        environments: {
          e: {
            url: 'https://a',
            auth: {mode: 'basic', username: 'u', passwordEnv: 'my-secret'},
          },
        },
        routes: [{name: 'r', dag: 'd'}],
      },
    ],
    [
      'environment name with a slash',
      {
        environments: {'a/b': {url: 'https://a'}},
        routes: [{name: 'r', dag: 'd'}],
      },
    ],
    ['duration without unit', {...route({}), maxEventAge: '6'}],
    ['zero duration', {...route({}), requestTimeout: '0s'}],
    ['zero seconds', {...route({}), functionTimeout: 0}],
    ['negative duration', {...route({}), maxEventAge: -5}],
    ['retry attempts 0', {...route({}), retry: {attempts: 0}}],
    ['retry attempts 1.5', {...route({}), retry: {attempts: 1.5}}],
    ['retry typo', {...route({}), retry: {tries: 3}}],
    ['maxConfBytes 0', {...route({}), maxConfBytes: 0}],
    ['deadLetters not gs://', {...route({}), deadLetters: 's3://bucket/x'}],
    [
      'subscriptionTopics with bare ids',
      {...route({}), subscriptionTopics: {sub: 'topic'}},
    ],
    ['json matcher an object of nothing', route({match: {json: {a: {}}}})],
  ];
  for (const [name, config] of broken) {
    const v = verdicts(config);
    assert.deepEqual(
      [v.checker, v.schema],
      [false, false],
      `${name}: ${v.why}`,
    );
  }
  // And the near misses both accept.
  const fine: [string, unknown][] = [
    [
      'auth as a bare name',
      {
        environments: {e: {url: 'https://a', auth: 'none'}},
        routes: [{name: 'r', dag: 'd'}],
      },
    ],
    [
      'durations in every form',
      {
        ...route({}),
        maxEventAge: '1.5h',
        requestTimeout: 20,
        retry: {initialBackoff: '250ms', maxBackoff: '1m'},
      },
    ],
    [
      'composer by name',
      {
        environments: {e: {composer: 'projects/p/locations/l/environments/e'}},
        routes: [{name: 'r', dag: 'd'}],
      },
    ],
    [
      'json matcher of every value kind',
      route({match: {json: {a: 1, b: true, c: null, d: {exists: false}}}}),
    ],
  ];
  for (const [name, config] of fine) {
    const v = verdicts(config);
    assert.deepEqual([v.checker, v.schema], [true, true], `${name}: ${v.why}`);
  }
});
