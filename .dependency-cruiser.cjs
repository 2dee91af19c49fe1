/**
 * The arrows of src/, checked by `npm run lint` (dependency-cruiser, type
 * imports included): no import cycle, and each folder imports only the
 * folders listed before it here (bottom layer first).
 */
const LAYERS = [
  ['core'], // typed errors, the version, the HTTP client
  ['google'], // clients for what Google hosts: metadata server, google-auth-library, Cloud Storage
  ['logging'], // the logger and secret scrubbing
  ['events', 'patterns'], // the event shape and normalize; the matcher and template languages
  ['config'], // the config's data types (bottom: types.ts), schema, compile, load
  ['routing'], // route, render, run ids
  ['auth'], // auth modes and the token cache
  ['airflow'], // API variants, trigger, discovery, paused cache, targets
  ['outcomes'], // outcome, retry policy, dead letters
  ['top'], // index.ts, function.ts, handler.ts, startup/, cli/
];
const TOP = '^src/(?:[^/]+\\.ts$|startup/|cli/)';
const dir = (name) => (name === 'top' ? TOP : `^src/${name}/`);
const forbidden = [
  {
    name: 'no-circular',
    comment: 'an import cycle (type imports count): move the shared type down a layer',
    severity: 'error',
    from: {},
    to: { circular: true },
  },
];
LAYERS.forEach((layer, i) => {
  const above = LAYERS.slice(i + 1).flat();
  const same = layer.length > 1 ? layer : [];
  for (const name of layer) {
    const targets = [...above, ...same.filter((s) => s !== name)];
    if (targets.length === 0) continue;
    forbidden.push({
      name: `layer-${name}`,
      comment: `${name}/ may import only the layers below it (see LAYERS in .dependency-cruiser.cjs)`,
      severity: 'error',
      from: { path: dir(name) },
      to: { path: targets.map(dir).join('|') },
    });
  }
});
module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
