/**
 * Every gcloud command the deploy/ scripts print under --dry-run, for each
 * option combination below, is parsed by the real Google Cloud CLI: an empty,
 * isolated config directory and no account, so each command must stop at the
 * missing account (exit 1, NoActiveAccountException in --verbosity=debug) and
 * never at an unknown flag, a bad value or conflicting arguments (exit 2,
 * argparse's "unrecognized arguments" / "argument --x: Invalid value"). A
 * control per command group shows gcloud parses arguments before it checks
 * credentials, so passing means the arguments were accepted.
 *
 * gcloud missing: install the Google Cloud CLI
 * (https://cloud.google.com/sdk/docs/install, e.g. `apt-get install
 * google-cloud-cli`); these tests fail with that message rather than skip.
 */
import {describe, test, before} from 'node:test';
import assert from 'node:assert/strict';
import {execFile, execFileSync, spawnSync} from 'node:child_process';
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {promisify} from 'node:util';
import {REPO} from '../../support/paths';

const run = promisify(execFile);
const DEPLOY = join(REPO, 'deploy');
const INSTALL =
  'the real Google Cloud CLI is needed: https://cloud.google.com/sdk/docs/install (Debian/Ubuntu: apt-get install google-cloud-cli)';

/** Sample values for the printed lookups' variables. */
const LOOKUPS: Record<string, string> = {
  GCS_SERVICE_AGENT:
    'service-123456789@gs-project-accounts.iam.gserviceaccount.com',
  NUMERIC_ID: '112233445566778899',
  PROJECT_NUMBER: '123456789',
  SERVICE_URL: 'https://dag-launcher-pubsub-abc123-ew.a.run.app',
  TRANSPORT_SUBSCRIPTION:
    'projects/my-proj/subscriptions/eventarc-europe-west1-dag-launcher-trigger-sub-123',
  DEPLOYER_ACCOUNT: 'alice@example.com',
};

let config: string;
let source: string;

function dryRun(script: string, args: string[]): string {
  const r = spawnSync('bash', [join(DEPLOY, script), ...args, '--dry-run'], {
    encoding: 'utf8',
    env: {PATH: process.env.PATH, TMPDIR: source, HOME: source},
  });
  assert.equal(r.status, 0, `${script} ${args.join(' ')}: ${r.stderr}`);
  // gcloud reads --env-vars-file while parsing: write the printed heredocs.
  for (const m of r.stdout.matchAll(/^cat > .*<<'EOF'\n[^]*?^EOF$/gm))
    execFileSync('bash', ['-c', m[0]]);
  return r.stdout;
}

/** Each gcloud command in a dry run (plain, `VAR=$(...)`, `a || b`, `# gcloud` hints) as argv. */
function printedCommands(output: string): string[][] {
  const commands: string[] = [];
  for (const line of output.split('\n')) {
    const text = line.replace(/^# (?=gcloud )/, '');
    const lookup = /^[A-Z_]+=\$\((gcloud .*)\)$/.exec(text);
    if (lookup) commands.push(lookup[1]!);
    else if (text.startsWith('gcloud '))
      commands.push(...text.split(/ >\/dev\/null 2>&1 \|\| /));
  }
  return commands.map(
    c =>
      JSON.parse(
        execFileSync(
          'bash',
          [
            '-c',
            `node -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- ${c}`,
          ],
          {encoding: 'utf8', env: {PATH: process.env.PATH, ...LOOKUPS}},
        ),
      ) as string[],
  );
}

interface Parsed {
  argv: string[];
  code: number;
  stderr: string;
}

/** Runs `gcloud --quiet --verbosity=debug ARGS` without an account. Global flags go first: `composer environments run` passes what follows `--` to Airflow. */
async function gcloud(argv: string[]): Promise<Parsed> {
  try {
    await run('gcloud', ['--quiet', '--verbosity=debug', ...argv], {
      env: {
        PATH: process.env.PATH,
        HOME: config,
        CLOUDSDK_CONFIG: config,
        CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
        CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
        CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
      },
      cwd: config,
      timeout: 60_000,
    });
    return {argv, code: 0, stderr: ''};
  } catch (e) {
    const err = e as {code?: number | string; stderr?: string};
    if (err.code === 'ENOENT') assert.fail(INSTALL);
    return {argv, code: Number(err.code), stderr: err.stderr ?? ''};
  }
}

/** At most `width` gcloud processes at a time: the machine is shared. */
async function parseAll(commands: string[][], width = 3): Promise<Parsed[]> {
  const out: Parsed[] = [];
  const queue = [...commands];
  await Promise.all(
    Array.from({length: width}, async () => {
      for (let c = queue.shift(); c; c = queue.shift())
        out.push(await gcloud(c));
    }),
  );
  return out;
}

const accepted = (p: Parsed) =>
  p.code === 0 || (p.code === 1 && /NoActiveAccountException/.test(p.stderr));

/** The option combinations the tests cover, by script. */
const SCENARIOS: [string, string[]][] = [
  [
    'deploy-storage.sh',
    [
      '--project',
      'my-proj',
      '--region',
      'europe-west1',
      '--bucket',
      'gs://landing-zone/',
      '--secret',
      'AIRFLOW_PASSWORD=airflow-password',
      '--secret',
      'OTHER=projects/123456789/secrets/other-secret:3',
      '--env',
      'LOG_LEVEL=debug',
      '--config',
      'gs://cfg/launcher.yaml',
      '--timeout',
      '120',
      '--concurrency',
      '40',
      '--build-service-account',
      'dag-launcher-build',
    ],
  ],
  [
    'deploy-storage.sh',
    [
      '--project',
      'my-proj',
      '--bucket',
      'b-landing',
      '--vpc-connector',
      'airflow-conn',
      '--egress-settings',
      'all',
    ],
  ],
  [
    'deploy-storage.sh',
    [
      '--platform',
      'run',
      '--project',
      'my-proj',
      '--region',
      'europe-west1',
      '--bucket',
      'landing-zone',
      '--trigger-location',
      'eu',
      '--network',
      'default',
      '--subnet',
      'default',
      '--egress-settings',
      'all',
      '--build-service-account',
      'dag-launcher-build',
      '--secret',
      'AIRFLOW_PASSWORD=projects/123456789/secrets/airflow-password:2',
    ],
  ],
  [
    'deploy-pubsub.sh',
    [
      '--project',
      'my-proj',
      '--topic',
      'projects/my-proj/topics/dag-commands',
      '--vpc-connector',
      'airflow-conn',
      '--env-vars-file',
      'my.env.yaml',
    ],
  ],
  [
    'deploy-pubsub.sh',
    [
      '--platform',
      'run',
      '--project',
      'my-proj',
      '--topic',
      'projects/my-proj/topics/dag-commands',
      '--vpc-connector',
      'airflow-conn',
      '--trigger-service-account',
      'trigger@my-proj.iam.gserviceaccount.com',
    ],
  ],
  [
    'push-subscription.sh',
    [
      '--project',
      'my-proj',
      '--region',
      'europe-west1',
      '--service',
      'dag-launcher-pubsub',
      '--topic',
      'projects/other-proj/topics/dag-commands',
      '--dead-letter-topic',
      'dag-commands-dead',
    ],
  ],
  [
    'storage-notification.sh',
    [
      '--project',
      'my-proj',
      '--bucket',
      'gs://acme-landing',
      '--topic',
      'acme-landing-files',
      '--object-prefix',
      'incoming/',
      '--event-types',
      'OBJECT_FINALIZE,OBJECT_DELETE',
      '--push-to',
      'dag-launcher-pubsub',
      '--region',
      'europe-west1',
    ],
  ],
  [
    'bootstrap-iam.sh',
    [
      '--project',
      'p1',
      '--composer-environment',
      'prod',
      '--composer-location',
      'europe-west1',
      '--airflow-version',
      '2.10.5',
      '--config-bucket',
      'cfg',
      '--dead-letter-bucket',
      'gs://dl',
      '--secret',
      'airflow-password',
      '--secret',
      'projects/987654321/secrets/shared-password',
      '--legacy-pubsub-agent',
    ],
  ],
  [
    'bootstrap-iam.sh',
    [
      '--project',
      'my-data-platform-production-42',
      '--service-account',
      'dag-launcher-runtime-account',
      '--composer-environment',
      'prod',
      '--composer-location',
      'europe-west1',
      '--airflow-version',
      '2.2.5',
      '--deployer',
      'serviceAccount:ci@p.iam.gserviceaccount.com',
      '--skip-apis',
    ],
  ],
  [
    'bootstrap-iam.sh',
    [
      '--project',
      'p1',
      '--composer-environment',
      'prod',
      '--composer-location',
      'europe-west1',
      '--airflow-version',
      '3.1.0',
      '--skip-apis',
      '--trigger-service-account',
      'trigger@p1.iam.gserviceaccount.com',
    ],
  ],
  [
    'bootstrap-iam.sh',
    [
      '--project',
      'p1',
      '--composer-environment',
      'prod',
      '--composer-location',
      'europe-west1',
      '--composer-cli',
      '--skip-apis',
    ],
  ],
];

describe('deploy/ scripts against the real gcloud (no account)', () => {
  before(() => {
    const v = spawnSync('gcloud', ['version'], {encoding: 'utf8'});
    assert.ok(!v.error && v.status === 0, INSTALL);
    config = mkdtempSync(join(tmpdir(), 'gcloud-config-'));
    source = mkdtempSync(join(tmpdir(), 'deploy-src-'));
    // A given --env-vars-file, relative to where gcloud runs.
    writeFileSync(
      join(config, 'my.env.yaml'),
      'LAUNCHER_CONFIG: "launcher.yaml"\n',
    );
  });

  test('every printed command of every script and option combination is accepted by gcloud, failing only for the missing account', async () => {
    const seen = new Map<string, string[]>();
    for (const [script, args] of SCENARIOS) {
      for (const argv of printedCommands(dryRun(script, args))) {
        assert.equal(argv[0], 'gcloud');
        seen.set(JSON.stringify(argv), argv.slice(1));
      }
    }
    const groups = new Set(
      [...seen.values()].map(a => a.slice(0, 3).join(' ')),
    );
    for (const g of [
      'functions deploy dag-launcher-storage',
      'run deploy dag-launcher-storage',
      'eventarc triggers create',
      'pubsub subscriptions create',
      'storage buckets notifications',
      'composer environments run',
      'composer environments update',
      'iam roles create',
    ])
      assert.ok(
        [...groups].some(x => x.startsWith(g)),
        `scenarios print ${g}: ${[...groups].join('; ')}`,
      );
    const results = await parseAll([...seen.values()]);
    const refused = results.filter(r => !accepted(r));
    assert.deepEqual(
      refused.map(
        r =>
          `gcloud ${r.argv.join(' ')}\n  -> exit ${r.code}: ${/ERROR: .*/.exec(r.stderr)?.[0]}`,
      ),
      [],
    );
    assert.ok(results.length >= 40, `${results.length} commands parsed`);
  });

  test('control: for each command group gcloud parses arguments before it checks credentials (a bad flag or value is exit 2, not the account error)', async () => {
    const controls: string[][] = [
      [
        'functions',
        'deploy',
        'f',
        '--gen2',
        '--region=r',
        '--trigger-topic=projects/p/topics/t',
      ],
      ['functions', 'deploy', 'f', '--gen2', '--region=r', '--no-such-flag'],
      ['run', 'deploy', 's', '--function=launchDag', '--no-such-flag'],
      ['eventarc', 'triggers', 'create', 't', '--location=l', '--no-such-flag'],
      [
        'pubsub',
        'subscriptions',
        'create',
        's',
        '--topic=t',
        '--ack-deadline=x',
      ],
      ['pubsub', 'subscriptions', 'update', 's', '--no-such-flag'],
      [
        'storage',
        'buckets',
        'notifications',
        'create',
        'gs://b',
        '--topic=t',
        '--event-types=OBJECT_EXPLODE',
      ],
      [
        'projects',
        'add-iam-policy-binding',
        'p',
        '--member=user:a@b.c',
        '--no-such-flag',
      ],
      ['run', 'services', 'add-iam-policy-binding', 's', '--no-such-flag'],
      [
        'iam',
        'service-accounts',
        'add-iam-policy-binding',
        'a@p.iam.gserviceaccount.com',
        '--no-such-flag',
      ],
      ['iam', 'roles', 'create', 'r', '--project=p', '--no-such-flag'],
      [
        'composer',
        'environments',
        'run',
        'e',
        '--location=l',
        'no-such-airflow-command',
      ],
      [
        'composer',
        'environments',
        'update',
        'e',
        '--location=l',
        '--no-such-flag',
      ],
      ['secrets', 'add-iam-policy-binding', 's', '--no-such-flag'],
      ['services', 'enable', 'run.googleapis.com', '--no-such-flag'],
    ];
    for (const r of await parseAll(controls)) {
      assert.equal(
        r.code,
        2,
        `gcloud ${r.argv.join(' ')}: ${r.stderr.slice(-400)}`,
      );
      assert.match(
        r.stderr,
        /unrecognized arguments|Invalid value|invalid choice|argument /i,
      );
      assert.doesNotMatch(r.stderr, /NoActiveAccountException/);
    }
  });

  test('the topic form: --topic projects/P/topics/T is printed as the bare id gcloud takes (the full name is what gcloud refuses)', async () => {
    const out = dryRun('deploy-pubsub.sh', [
      '--project',
      'my-proj',
      '--topic',
      'projects/my-proj/topics/dag-commands',
    ]);
    const deploy = printedCommands(out).find(a => a[1] === 'functions')!;
    assert.ok(
      deploy.includes('--trigger-topic=dag-commands'),
      deploy.join(' '),
    );
    const fullName = deploy
      .slice(1)
      .map(a =>
        a === '--trigger-topic=dag-commands'
          ? '--trigger-topic=projects/my-proj/topics/dag-commands'
          : a,
      );
    // One at a time, so the results keep their order.
    const [bare, full] = await parseAll([deploy.slice(1), fullName], 1);
    assert.ok(accepted(bare!), bare!.stderr.slice(-300));
    assert.equal(full!.code, 2);
    assert.match(full!.stderr, /Topic must contain only Latin letters/);
  });
});
