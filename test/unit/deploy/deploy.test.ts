/**
 * The deploy/ scripts: shellcheck-clean, --help documents every option, and
 * --dry-run prints the exact gcloud commands. The dry run's output is itself
 * run (bash) against a recording stand-in for the gcloud CLI, and so is the
 * script without --dry-run: both must make the same gcloud calls.
 *
 * Over 300 lines: one case per deploy script and option combination, sharing the recording gcloud stand-in.
 */
import {describe, test, before} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync, spawnSync} from 'node:child_process';
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  existsSync,
  rmSync,
} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {REPO} from '../../support/paths';

const DEPLOY = join(REPO, 'deploy');
const SCRIPTS = readdirSync(DEPLOY).filter(
  f => f.endsWith('.sh') && !['lib.sh', 'function.sh'].includes(f),
);
const LONG_PROJECT = 'my-data-platform-production-42';
const LONG_SA = 'dag-launcher-runtime-account'; // @my-data-platform-production-42.iam.gserviceaccount.com: 83 characters

let fakeBin: string;
let callLog: string;

/** A stand-in for the gcloud CLI: records each call's argv (one JSON array per line) and answers the lookups. */
function installFakeGcloud(): void {
  fakeBin = mkdtempSync(join(tmpdir(), 'fake-gcloud-'));
  callLog = join(fakeBin, 'calls.jsonl');
  writeFileSync(
    join(fakeBin, 'gcloud'),
    `#!/usr/bin/env bash
node -e 'require("fs").appendFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)) + "\\n")' "$CALL_LOG" "$@"
case "$*" in
  "storage service-agent"*) echo service-123456789@gs-project-accounts.iam.gserviceaccount.com ;;
  *"iam service-accounts describe"*"--format=value(oauth2ClientId)"*) echo 112233445566778899 ;;
  *"iam service-accounts describe"*) exit 1 ;;
  "projects describe"*) echo 123456789 ;;
  "composer environments describe"*) echo "\${FAKE_IMAGE_VERSION:-composer-2.9.7-airflow-2.9.3}" ;;
  "config get-value account") echo alice@example.com ;;
  "run services describe"*) echo https://dag-launcher.a.run.app ;;
  "eventarc triggers describe"*"--format"*) echo projects/my-proj/subscriptions/eventarc-sub ;;
  "eventarc triggers describe"*|"pubsub topics describe"*) exit 1 ;;
  "config get-value project") echo configured-project ;;
esac
`,
  );
  chmodSync(join(fakeBin, 'gcloud'), 0o755);
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function script(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Run {
  const r = spawnSync('bash', [join(DEPLOY, name), ...args], {
    encoding: 'utf8',
    env: {
      PATH: `${fakeBin}:${process.env.PATH}`,
      CALL_LOG: callLog,
      TMPDIR: fakeBin,
      HOME: fakeBin,
      ...env,
    },
  });
  return {status: r.status, stdout: r.stdout, stderr: r.stderr};
}

function calls(): string[][] {
  if (!existsSync(callLog)) return [];
  const lines = readFileSync(callLog, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(l => JSON.parse(l) as string[]);
  rmSync(callLog);
  return lines;
}

/** Runs a dry run's output as a script against the gcloud stand-in; returns the calls it made. */
function executePrinted(output: string): string[][] {
  calls();
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', output], {
    encoding: 'utf8',
    env: {PATH: `${fakeBin}:${process.env.PATH}`, CALL_LOG: callLog},
  });
  assert.equal(
    r.status,
    0,
    `the dry run's output runs as a script:\n${r.stderr}`,
  );
  return calls();
}

/** The one line of the dry run that starts with `gcloud ...words`, split into argv by bash (lookup variables left as `${VAR}`). */
function printedCommand(output: string, ...words: string[]): string[] {
  const lines = output
    .split('\n')
    .filter(l => l.startsWith(`gcloud ${words.join(' ')}`));
  assert.equal(
    lines.length,
    1,
    `one 'gcloud ${words.join(' ')}' line in:\n${output}`,
  );
  return JSON.parse(
    execFileSync(
      'bash',
      [
        '-c',
        `node -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- ${lines[0]}`,
      ],
      {
        encoding: 'utf8',
        // A lookup's variable stays visible as such.
        env: {
          PATH: process.env.PATH,
          NUMERIC_ID: '${NUMERIC_ID}',
          GCS_SERVICE_AGENT: '${GCS_SERVICE_AGENT}',
          SERVICE_URL: '${SERVICE_URL}',
          TRANSPORT_SUBSCRIPTION: '${TRANSPORT_SUBSCRIPTION}',
        },
      },
    ),
  ) as string[];
}

describe('deploy/ scripts', () => {
  before(installFakeGcloud);

  test('every script is shellcheck-clean (as is CI and the provisioning script)', () => {
    const files = [
      ...readdirSync(DEPLOY)
        .filter(f => f.endsWith('.sh'))
        .map(f => join(DEPLOY, f)),
      join(REPO, '.ci/run'),
      join(REPO, 'test/airflow/provision.sh'),
    ];
    const r = spawnSync('shellcheck', ['-x', '--severity=style', ...files], {
      encoding: 'utf8',
      cwd: REPO,
    });
    assert.ok(
      !r.error,
      `shellcheck must be installed (test/airflow/provision.sh installs it): ${r.error?.message}`,
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test('--help: exit 0, and every option the script accepts is documented', () => {
    assert.deepEqual(SCRIPTS.sort(), [
      'bootstrap-iam.sh',
      'deploy-pubsub.sh',
      'deploy-storage.sh',
      'push-subscription.sh',
      'storage-notification.sh',
    ]);
    for (const name of SCRIPTS) {
      const help = script(name, ['--help']);
      assert.equal(help.status, 0, name);
      assert.match(help.stdout, /^Usage: /, name);
      const sources = [
        name,
        ...(name.startsWith('deploy-') ? ['function.sh'] : []),
      ]
        .map(f => readFileSync(join(DEPLOY, f), 'utf8'))
        .join('\n');
      const accepted = new Set(
        [...sources.matchAll(/^\s+(?:-h \| )?(--[a-z-]+)\)/gm)].map(m => m[1]!),
      );
      assert.ok(accepted.size >= 8, `${name} options found: ${[...accepted]}`);
      for (const flag of accepted) {
        if (
          (flag === '--bucket' && name !== 'deploy-storage.sh') ||
          (flag === '--topic' && name !== 'deploy-pubsub.sh')
        )
          continue;
        assert.ok(
          help.stdout.includes(flag),
          `${name} --help documents ${flag}`,
        );
      }
    }
  });

  test('deploy-storage.sh --dry-run: a gen2 nodejs22 function on the bucket, with retry, its own account, env-vars file, secrets, timeout and concurrency', () => {
    const args = [
      '--project',
      'my-proj',
      '--region',
      'europe-west1',
      '--bucket',
      'gs://landing-zone/',
      '--secret',
      'AIRFLOW_PASSWORD=airflow-password',
      '--secret',
      'OTHER=other-secret:3',
      '--env',
      'LOG_LEVEL=debug',
      '--config',
      'gs://cfg-bucket/launcher.yaml',
      '--config-refresh',
      '30s',
      '--timeout',
      '120',
      '--concurrency',
      '40',
      '--max-instances',
      '5',
    ];
    const r = script('deploy-storage.sh', [...args, '--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(calls(), [], 'a dry run calls nothing');
    const argv = printedCommand(r.stdout, 'functions', 'deploy');
    assert.deepEqual(argv.slice(0, 4), [
      'gcloud',
      'functions',
      'deploy',
      'dag-launcher-storage',
    ]);
    const envFile = join(fakeBin, 'dag-launcher-storage.env.yaml');
    for (const flag of [
      '--gen2',
      '--project=my-proj',
      '--region=europe-west1',
      '--runtime=nodejs22',
      `--source=${REPO}`,
      '--entry-point=launchDag',
      '--trigger-bucket=landing-zone',
      '--retry',
      '--service-account=dag-launcher@my-proj.iam.gserviceaccount.com',
      '--trigger-service-account=dag-launcher@my-proj.iam.gserviceaccount.com',
      `--env-vars-file=${envFile}`,
      '--set-secrets=AIRFLOW_PASSWORD=airflow-password:latest,OTHER=other-secret:3',
      '--timeout=120s',
      '--concurrency=40',
      '--cpu=1',
      '--memory=256Mi',
      '--max-instances=5',
      '--ingress-settings=internal-only',
      '--no-allow-unauthenticated',
    ]) {
      assert.ok(argv.includes(flag), `${flag} in ${argv.join(' ')}`);
    }
    assert.match(r.stdout, /functionTimeout should be 120s/);
    // The env-vars file is printed as a heredoc; running the output writes it and makes exactly the one deploy call.
    const made = executePrinted(r.stdout);
    assert.deepEqual(made, [
      argv.slice(1),
      // The trigger account may invoke this one service (not the project).
      [
        'run',
        'services',
        'add-iam-policy-binding',
        'dag-launcher-storage',
        '--project=my-proj',
        '--region=europe-west1',
        '--member=serviceAccount:dag-launcher@my-proj.iam.gserviceaccount.com',
        '--role=roles/run.invoker',
        '--quiet',
      ],
    ]);
    assert.equal(
      readFileSync(envFile, 'utf8'),
      'LAUNCHER_CONFIG: "gs://cfg-bucket/launcher.yaml"\nLAUNCHER_CONFIG_REFRESH: "30s"\nLOG_LEVEL: "debug"\n',
    );

    // Without --dry-run the script makes the same call.
    rmSync(envFile);
    const real = script('deploy-storage.sh', args);
    assert.equal(real.status, 0, real.stderr);
    assert.deepEqual(calls(), made);
    assert.ok(existsSync(envFile));
  });

  test('deploy-pubsub.sh --dry-run: --trigger-topic, a VPC connector for a private-IP Airflow, the project from the environment', () => {
    const r = script(
      'deploy-pubsub.sh',
      [
        '--topic',
        'dag-commands',
        '--vpc-connector',
        'airflow-conn',
        '--env-vars-file',
        'my.env.yaml',
        '--dry-run',
      ],
      {CLOUDSDK_CORE_PROJECT: 'env-proj'},
    );
    assert.equal(r.status, 0, r.stderr);
    const argv = printedCommand(r.stdout, 'functions', 'deploy');
    for (const flag of [
      '--trigger-topic=dag-commands',
      '--retry',
      '--runtime=nodejs22',
      '--project=env-proj',
      '--region=us-central1',
      '--env-vars-file=my.env.yaml',
      '--vpc-connector=airflow-conn',
      '--egress-settings=private-ranges-only',
      '--timeout=60s',
      '--concurrency=80',
    ]) {
      assert.ok(argv.includes(flag), `${flag} in ${argv.join(' ')}`);
    }
    assert.ok(
      !argv.some(
        a => a.startsWith('--trigger-bucket') || a.startsWith('--set-secrets'),
      ),
    );
    assert.doesNotMatch(
      r.stdout,
      /^cat > /m,
      'a given env-vars file is used as is',
    );
  });

  test('bootstrap-iam.sh --dry-run: runtime account with composer.user, Eventarc roles, the Storage agent as publisher, buckets and secrets', () => {
    const r = script('bootstrap-iam.sh', [
      '--project',
      'p1',
      '--composer-environment',
      'prod',
      '--composer-location',
      'europe-west1',
      '--config-bucket',
      'cfg',
      '--dead-letter-bucket',
      'gs://dl',
      '--secret',
      'airflow-password',
      '--airflow-version',
      '2.9.3',
      '--dry-run',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const sa = 'dag-launcher@p1.iam.gserviceaccount.com';
    const bindings = r.stdout
      .split('\n')
      .filter(l => l.startsWith('gcloud projects add-iam-policy-binding'));
    const build = 'dag-launcher-build@p1.iam.gserviceaccount.com';
    // run.invoker is not granted on the project: the deploy scripts grant it on the one service.
    assert.deepEqual(bindings, [
      `gcloud projects add-iam-policy-binding p1 --member=serviceAccount:${sa} --role=roles/composer.user --condition=None --quiet`,
      `gcloud projects add-iam-policy-binding p1 --member=serviceAccount:${build} --role=roles/logging.logWriter --condition=None --quiet`,
      `gcloud projects add-iam-policy-binding p1 --member=serviceAccount:${build} --role=roles/artifactregistry.writer --condition=None --quiet`,
      `gcloud projects add-iam-policy-binding p1 --member=serviceAccount:${build} --role=roles/storage.objectViewer --condition=None --quiet`,
      `gcloud projects add-iam-policy-binding p1 --member=serviceAccount:${sa} --role=roles/eventarc.eventReceiver --condition=None --quiet`,
      'gcloud projects add-iam-policy-binding p1 "--member=serviceAccount:${GCS_SERVICE_AGENT}" --role=roles/pubsub.publisher --condition=None --quiet',
    ]);
    // The deployer acts as the runtime and build accounts.
    for (const account of [sa, build])
      assert.match(
        r.stdout,
        new RegExp(
          `^gcloud iam service-accounts add-iam-policy-binding ${account} --project=p1 "--member=user:\\$\\{DEPLOYER_ACCOUNT\\}" --role=roles/iam.serviceAccountUser$`,
          'm',
        ),
      );
    assert.match(
      r.stdout,
      /^GCS_SERVICE_AGENT=\$\(gcloud storage service-agent --project=p1\)$/m,
    );
    assert.match(
      r.stdout,
      /gcloud iam service-accounts create dag-launcher --project=p1/,
    );
    assert.match(
      r.stdout,
      new RegExp(
        `^gcloud storage buckets add-iam-policy-binding gs://cfg --member=serviceAccount:${sa} --role=roles/storage.objectViewer$`,
        'm',
      ),
    );
    assert.match(
      r.stdout,
      new RegExp(
        `^gcloud storage buckets add-iam-policy-binding gs://dl --member=serviceAccount:${sa} --role=roles/storage.objectCreator$`,
        'm',
      ),
    );
    assert.match(
      r.stdout,
      new RegExp(
        `^gcloud secrets add-iam-policy-binding airflow-password --project=p1 --member=serviceAccount:${sa} --role=roles/secretmanager.secretAccessor$`,
        'm',
      ),
    );
    assert.match(
      r.stdout,
      /^gcloud services enable .*composer\.googleapis\.com.*--project=p1$/m,
    );
    // A short email: Composer registers it on the first call; only a hint, no users create.
    assert.doesNotMatch(r.stdout, /^gcloud composer environments run/m);
    assert.match(
      r.stdout,
      /^# gcloud composer environments run prod --location=europe-west1 --project=p1 users add-role -- -e dag-launcher@p1\.iam\.gserviceaccount\.com -r Op$/m,
    );

    // The printed script runs, in order, with the looked-up agent substituted.
    const made = executePrinted(r.stdout);
    assert.ok(
      made.some(
        c =>
          c.join(' ') ===
          'projects add-iam-policy-binding p1 --member=serviceAccount:service-123456789@gs-project-accounts.iam.gserviceaccount.com --role=roles/pubsub.publisher --condition=None --quiet',
      ),
    );
    const real = script('bootstrap-iam.sh', [
      '--project',
      'p1',
      '--composer-environment',
      'prod',
      '--composer-location',
      'europe-west1',
      '--config-bucket',
      'cfg',
      '--dead-letter-bucket',
      'gs://dl',
      '--secret',
      'airflow-password',
      '--airflow-version',
      '2.9.3',
    ]);
    assert.equal(real.status, 0, real.stderr);
    assert.deepEqual(
      calls(),
      made,
      'the real run makes the calls the dry run printed',
    );
  });

  test('bootstrap-iam.sh: an email over 64 characters gets the Airflow user pre-registered as accounts.google.com:NUMERIC_ID with role Op', () => {
    const args = [
      '--project',
      LONG_PROJECT,
      '--service-account',
      LONG_SA,
      '--composer-environment',
      'prod',
      '--composer-location',
      'europe-west1',
      '--airflow-version',
      '2.2.5',
      '--skip-apis',
    ];
    const email = `${LONG_SA}@${LONG_PROJECT}.iam.gserviceaccount.com`;
    assert.ok(email.length > 64);
    const dry = script('bootstrap-iam.sh', [...args, '--dry-run']);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(
      dry.stdout,
      new RegExp(
        `# ${email} is ${email.length} characters, longer than Airflow 2.2.5's 64`,
      ),
    );
    assert.match(
      dry.stdout,
      new RegExp(
        `^NUMERIC_ID=\\$\\(gcloud iam service-accounts describe ${email} --project=${LONG_PROJECT} '--format=value\\(oauth2ClientId\\)'\\)$`,
        'm',
      ),
    );
    const create = printedCommand(
      dry.stdout,
      'composer',
      'environments',
      'run',
    );
    assert.deepEqual(create, [
      'gcloud',
      'composer',
      'environments',
      'run',
      'prod',
      '--location=europe-west1',
      `--project=${LONG_PROJECT}`,
      'users',
      'create',
      '--',
      '-u',
      'accounts.google.com:${NUMERIC_ID}',
      '-e',
      email,
      '-f',
      LONG_SA,
      '-l',
      '-',
      '-r',
      'Op',
      '--use-random-password',
    ]);

    // Without --register-airflow-user a real run prints the commands and does not run them.
    const printed = script('bootstrap-iam.sh', args);
    assert.equal(printed.status, 0, printed.stderr);
    assert.ok(!calls().some(c => c[0] === 'composer'));
    assert.match(
      printed.stdout,
      /users create -- -u "accounts\.google\.com:\$\{NUMERIC_ID\}"/,
    );

    // With it, the numeric id is looked up and the user created with it.
    const registered = script('bootstrap-iam.sh', [
      ...args,
      '--register-airflow-user',
      '--airflow-role',
      'Op',
    ]);
    assert.equal(registered.status, 0, registered.stderr);
    const made = calls();
    const describeAt = made.findIndex(
      c =>
        c.join(' ') ===
        `iam service-accounts describe ${email} --project=${LONG_PROJECT} --format=value(oauth2ClientId)`,
    );
    const createAt = made.findIndex(
      c => c.slice(0, 3).join(' ') === 'composer environments run',
    );
    assert.ok(describeAt >= 0 && createAt > describeAt, JSON.stringify(made));
    assert.deepEqual(made[createAt], [
      'composer',
      'environments',
      'run',
      'prod',
      '--location=europe-west1',
      `--project=${LONG_PROJECT}`,
      'users',
      'create',
      '--',
      '-u',
      'accounts.google.com:112233445566778899',
      '-e',
      email,
      '-f',
      LONG_SA,
      '-l',
      '-',
      '-r',
      'Op',
      '--use-random-password',
    ]);
  });

  test('bad arguments: a clear message and exit 2, nothing run', () => {
    const cases: [string, string[], RegExp][] = [
      ['deploy-storage.sh', ['--project', 'p'], /--bucket is required/],
      ['deploy-pubsub.sh', ['--project', 'p'], /--topic is required/],
      [
        'deploy-pubsub.sh',
        ['--project', 'p', '--topic', 't', '--bucket', 'b'],
        /--bucket is for deploy-storage\.sh/,
      ],
      [
        'deploy-storage.sh',
        ['--bucket', 'b', '--project'],
        /--project needs a value/,
      ],
      [
        'deploy-storage.sh',
        ['--bucket', 'b', '--project', 'p', '--secret', 'lowercase=x'],
        /--secret expects VAR=SECRET/,
      ],
      [
        'deploy-storage.sh',
        [
          '--bucket',
          'b',
          '--project',
          'p',
          '--concurrency',
          '10',
          '--cpu',
          '0.5',
        ],
        /needs --cpu 1 or more/,
      ],
      [
        'deploy-storage.sh',
        ['--bucket', 'b', '--project', 'p', '--frobnicate'],
        /unknown option: --frobnicate/,
      ],
      [
        'bootstrap-iam.sh',
        ['--project', 'p', '--composer-environment', 'e'],
        /--composer-location is required/,
      ],
      [
        'bootstrap-iam.sh',
        ['--project', 'p', '--service-account', 'Bad_Name'],
        /6-30 characters/,
      ],
      [
        'deploy-pubsub.sh',
        ['--project', 'p', '--topic', 'projects/other/topics/cmds'],
        /is in project other, not p: .*push-subscription\.sh/,
      ],
      [
        'deploy-pubsub.sh',
        ['--project', 'p', '--topic', 'ab'],
        /a topic id is 3-255 characters/,
      ],
      [
        'deploy-storage.sh',
        ['--project', 'p', '--bucket', 'b', '--network', 'default'],
        /need --platform run/,
      ],
      [
        'storage-notification.sh',
        [
          '--project',
          'p',
          '--bucket',
          'b',
          '--topic',
          'tt1',
          '--event-types',
          'OBJECT_CREATE',
        ],
        /--event-types is a comma-separated list/,
      ],
      [
        'bootstrap-iam.sh',
        [
          '--project',
          'p',
          '--composer-environment',
          'e',
          '--composer-location',
          'l',
          '--airflow-version',
          '3.0.1',
          '--register-airflow-user',
        ],
        /Airflow 3\.0\.1 has no users command/,
      ],
      [
        'bootstrap-iam.sh',
        ['--project', 'p', '--register-airflow-user'],
        /needs --composer-environment/,
      ],
    ];
    for (const [name, args, message] of cases) {
      const r = script(name, [...args, '--dry-run']);
      assert.equal(r.status, 2, `${name} ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout.includes('gcloud '), false);
    }
    assert.deepEqual(calls(), []);
  });
  test('--platform run: a Cloud Run function from source, run.invoker on the service, an Eventarc Storage trigger with the bucket filter and the trigger account, and the retry policy on its subscription', () => {
    const r = script('deploy-storage.sh', [
      '--platform',
      'run',
      '--project',
      'my-proj',
      '--region',
      'europe-west1',
      '--bucket',
      'landing',
      '--trigger-location',
      'eu',
      '--network',
      'vpc1',
      '--egress-settings',
      'all',
      '--build-service-account',
      'dag-launcher-build',
      '--dry-run',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const deploy = printedCommand(r.stdout, 'run', 'deploy');
    for (const flag of [
      '--function=launchDag',
      '--base-image=nodejs22',
      `--source=${REPO}`,
      '--ingress=internal',
      '--no-allow-unauthenticated',
      '--network=vpc1',
      '--subnet=vpc1',
      '--vpc-egress=all-traffic',
      '--build-service-account=projects/my-proj/serviceAccounts/dag-launcher-build@my-proj.iam.gserviceaccount.com',
    ])
      assert.ok(deploy.includes(flag), `${flag} in ${deploy.join(' ')}`);
    assert.deepEqual(
      printedCommand(
        r.stdout,
        'run',
        'services',
        'add-iam-policy-binding',
      ).slice(5),
      [
        '--project=my-proj',
        '--region=europe-west1',
        '--member=serviceAccount:dag-launcher@my-proj.iam.gserviceaccount.com',
        '--role=roles/run.invoker',
        '--quiet',
      ],
    );
    assert.match(
      r.stdout,
      / \|\| gcloud eventarc triggers create dag-launcher-storage-trigger --project=my-proj --location=eu --destination-run-service=dag-launcher-storage --destination-run-region=europe-west1 --service-account=dag-launcher@my-proj\.iam\.gserviceaccount\.com --event-filters=type=google\.cloud\.storage\.object\.v1\.finalized --event-filters=bucket=landing$/m,
    );
    assert.match(
      r.stdout,
      /^gcloud pubsub subscriptions update "\$\{TRANSPORT_SUBSCRIPTION\}" --min-retry-delay=10s --max-retry-delay=600s$/m,
    );
    // The printed script runs and makes the same calls as the script itself.
    const made = executePrinted(r.stdout);
    const real = script('deploy-storage.sh', [
      '--platform',
      'run',
      '--project',
      'my-proj',
      '--region',
      'europe-west1',
      '--bucket',
      'landing',
      '--trigger-location',
      'eu',
      '--network',
      'vpc1',
      '--egress-settings',
      'all',
      '--build-service-account',
      'dag-launcher-build',
    ]);
    assert.equal(real.status, 0, real.stderr);
    assert.deepEqual(calls(), made);
  });

  test('deploy-pubsub.sh: --topic projects/P/topics/T becomes the bare id; a cross-project secret passes through', () => {
    const r = script('deploy-pubsub.sh', [
      '--project',
      'my-proj',
      '--topic',
      'projects/my-proj/topics/dag-commands',
      '--secret',
      'AIRFLOW_PASSWORD=projects/123456789/secrets/airflow-password:2',
      '--dry-run',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const argv = printedCommand(r.stdout, 'functions', 'deploy');
    assert.ok(argv.includes('--trigger-topic=dag-commands'), argv.join(' '));
    assert.ok(
      argv.includes(
        '--set-secrets=AIRFLOW_PASSWORD=projects/123456789/secrets/airflow-password:2',
      ),
      argv.join(' '),
    );
  });

  test('push-subscription.sh and storage-notification.sh: push to the URL ending in the topic path with an OIDC token; a notification with prefix and event types', () => {
    const r = script('storage-notification.sh', [
      '--project',
      'my-proj',
      '--bucket',
      'gs://acme',
      '--topic',
      'acme-files',
      '--object-prefix',
      'incoming/',
      '--push-to',
      'dag-launcher-pubsub',
      '--dry-run',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      printedCommand(
        r.stdout,
        'storage',
        'buckets',
        'notifications',
        'create',
      ).slice(5),
      [
        'gs://acme',
        '--project=my-proj',
        '--topic=projects/my-proj/topics/acme-files',
        '--event-types=OBJECT_FINALIZE',
        '--payload-format=json',
        '--object-prefix=incoming/',
      ],
    );
    const sub = printedCommand(r.stdout, 'pubsub', 'subscriptions', 'create');
    for (const flag of [
      '--push-endpoint=${SERVICE_URL}/projects/my-proj/topics/acme-files',
      '--push-auth-service-account=dag-launcher@my-proj.iam.gserviceaccount.com',
      '--ack-deadline=60',
    ])
      assert.ok(sub.includes(flag), `${flag} in ${sub.join(' ')}`);
    const made = executePrinted(r.stdout);
    const create = made.find(
      c => c.slice(0, 3).join(' ') === 'pubsub subscriptions create',
    )!;
    assert.ok(
      create.includes(
        '--push-endpoint=https://dag-launcher.a.run.app/projects/my-proj/topics/acme-files',
      ),
      create.join(' '),
    );
  });

  test('bootstrap-iam.sh reads the Airflow version from the environment: Airflow 3 gets no users command, composer-cli a custom role', () => {
    const r = script(
      'bootstrap-iam.sh',
      [
        '--project',
        'p1',
        '--service-account',
        LONG_SA,
        '--composer-environment',
        'prod',
        '--composer-location',
        'europe-west1',
        '--skip-apis',
      ],
      {FAKE_IMAGE_VERSION: 'composer-3-airflow-3.1.0-build.2'},
    );
    assert.equal(r.status, 0, r.stderr);
    const made = calls();
    assert.ok(
      made.some(
        c => c.slice(0, 3).join(' ') === 'composer environments describe',
      ),
    );
    assert.ok(
      !made.some(c => c.slice(0, 3).join(' ') === 'composer environments run'),
      JSON.stringify(made),
    );
    assert.match(r.stderr, /Airflow 3\.1\.0: Composer registers/);
    assert.match(
      r.stderr,
      /--update-airflow-configs=api-composer_auth_user_registration_role=Op/,
    );
    const cli = script('bootstrap-iam.sh', [
      '--project',
      'p1',
      '--composer-cli',
      '--skip-apis',
      '--dry-run',
    ]);
    assert.match(
      cli.stdout,
      /gcloud iam roles create dagLauncherComposerCli --project=p1 '--title=DAG Launcher Composer CLI' --permissions=composer\.environments\.executeAirflowCommand,composer\.environments\.get --stage=GA/,
    );
    assert.match(
      cli.stdout,
      /--role=projects\/p1\/roles\/dagLauncherComposerCli /,
    );
    assert.doesNotMatch(cli.stdout, /roles\/composer\.user/);
  });
});
