import {ConfigError} from '../core/errors';

/** gs://bucket/path -> { bucket, prefix }; a prefix gets a trailing slash when `folder`. */
export function parseGsUri(
  uri: string,
  folder = false,
): {bucket: string; prefix: string} {
  const m = /^gs:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new ConfigError([`expected gs://bucket/path, got ${uri}`], uri);
  let prefix = m[2] ?? '';
  if (folder && prefix && !prefix.endsWith('/')) prefix += '/';
  return {bucket: m[1]!, prefix};
}
