/**
 * The instance's one Cloud Storage client, for dead letters, a gs:// config
 * and replay.
 */
import type {Storage} from '@google-cloud/storage';

let storage: Promise<Storage> | undefined;

/**
 * One Storage client per instance, loaded on first use (a lazy require, not
 * import(): the CommonJS build, only when a dead letter or a gs:// config
 * needs it).
 *
 * STORAGE_EMULATOR_HOST (`http://host:port`, the convention of every Google
 * client library and emulator) becomes an explicit apiEndpoint. The Node
 * library's own reading of that variable is marked experimental and uses it
 * verbatim as the JSON API base URL, so with a bare host uploads work but
 * listing and downloads 404, and with `/storage/v1` appended it is the other
 * way round; an apiEndpoint gets both right.
 */
export function sharedStorage(
  env: NodeJS.ProcessEnv = process.env,
): Promise<Storage> {
  if (!storage) storage = Promise.resolve(createStorage(env));
  return storage;
}

export function createStorage(env: NodeJS.ProcessEnv = process.env): Storage {
  const {Storage: StorageClient} =
    require('@google-cloud/storage') as typeof import('@google-cloud/storage');
  const options = {retryOptions: {autoRetry: true, maxRetries: 2}};
  const emulator = env.STORAGE_EMULATOR_HOST;
  if (!emulator) return new StorageClient(options);
  const apiEndpoint = new URL(
    /^https?:\/\//.test(emulator) ? emulator : `http://${emulator}`,
  ).origin;
  const saved = process.env.STORAGE_EMULATOR_HOST;
  delete process.env.STORAGE_EMULATOR_HOST;
  try {
    return new StorageClient({
      ...options,
      apiEndpoint,
      projectId: env.GOOGLE_CLOUD_PROJECT ?? 'emulator',
    });
  } finally {
    if (saved !== undefined) process.env.STORAGE_EMULATOR_HOST = saved;
  }
}
