/**
 * The metadata server of Google's serverless runtime, read directly.
 *
 * On Cloud Run functions (`K_SERVICE` is set) with no
 * `GOOGLE_APPLICATION_CREDENTIALS`, Application Default Credentials are the
 * metadata server's token for the function's service account, whatever
 * library asks. google-auth-library finds that out with a probe of the
 * metadata server and ~30 ms of module loading (its clients, gaxios and
 * fetch's undici) on the first event of every instance; this is the same
 * documented GET without either. Everywhere else (a key file, workload
 * identity federation, gcloud's user credentials, a VM) ADC goes through
 * google-auth-library.
 *
 * `GCE_METADATA_HOST` (or `GCE_METADATA_IP`) points it elsewhere, as it does
 * google-auth-library: the tests' metadata-server stand-in.
 */
import {httpRequest} from '../core/http';

export function metadataHost(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.GCE_METADATA_HOST ?? env.GCE_METADATA_IP ?? 'metadata.google.internal'
  );
}

/** Whether ADC here is the runtime's metadata server: Cloud Run (functions) with no key file configured. */
export function onServerlessMetadata(
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return Boolean(env.K_SERVICE) && !env.GOOGLE_APPLICATION_CREDENTIALS;
}

/** GET a metadata path (`project/project-id`); the body, or an error naming the status. */
export async function metadataGet(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 5000,
): Promise<string> {
  const res = await httpRequest(
    `http://${metadataHost(env)}/computeMetadata/v1/${path}`,
    {
      headers: {'Metadata-Flavor': 'Google'},
      timeoutMs,
      excerptMax: 64 * 1024,
    },
  );
  if (res.status !== 200)
    throw new Error(
      `metadata server answered ${res.status} for ${path}: ${res.body.slice(0, 200)}`,
    );
  // The real server, and any proxy in front of it that is the real one, says so.
  if (res.headers['metadata-flavor'] !== 'Google')
    throw new Error(
      `the answer for ${path} did not come from a metadata server (no Metadata-Flavor: Google)`,
    );
  return res.body;
}

/** An access token and when it expires (epoch ms); the auth layer's token cache takes it as it is. */
export interface AccessToken {
  value: string;
  expiresAt?: number;
}

/** The service account's OAuth2 access token for `scopes`, with its expiry. */
export async function metadataAccessToken(
  scopes: string[],
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 5000,
): Promise<AccessToken> {
  const asked = Date.now();
  const body = await metadataGet(
    `instance/service-accounts/default/token?scopes=${encodeURIComponent(scopes.join(','))}`,
    env,
    timeoutMs,
  );
  let parsed: {access_token?: unknown; expires_in?: unknown};
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    throw new Error('metadata server token answer is not JSON');
  }
  if (typeof parsed.access_token !== 'string' || !parsed.access_token)
    throw new Error('metadata server returned no access_token');
  const lifetimeSec =
    typeof parsed.expires_in === 'number' && parsed.expires_in > 0
      ? parsed.expires_in
      : 300;
  return {value: parsed.access_token, expiresAt: asked + lifetimeSec * 1000};
}
