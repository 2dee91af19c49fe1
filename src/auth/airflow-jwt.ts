/**
 * auth mode `airflow-jwt` (self-managed Airflow 3): `POST {url}/auth/token`
 * with username/password gives a JWT, cached until it expires (its `exp`) and
 * refreshed once when Airflow answers 401.
 */
import {BearerTokenAuth} from './bearer';
import {RetryableError} from '../core/errors';
import {jwtExpiry} from './jwt';
import {httpRequest, type HttpResponse} from '../core/http';
import {
  rememberPassword,
  scrubServerText,
  serverExcerpt,
} from '../logging/secrets';

export class AirflowJwtAuth extends BearerTokenAuth {
  readonly mode = 'airflow-jwt';

  constructor(
    baseUrl: string,
    username: string,
    password: string,
    timeoutMs: number,
  ) {
    rememberPassword(password, username);
    // A fresh JWT may succeed where an expired or revoked one did not: retry once on 401.
    super(
      async () => {
        let res: HttpResponse;
        try {
          res = await httpRequest(`${baseUrl}/auth/token`, {
            method: 'POST',
            headers: {
              'Content-Type': 'application/json',
              Accept: 'application/json',
            },
            body: JSON.stringify({username, password}),
            timeoutMs,
            excerptMax: 64 * 1024,
          });
        } catch (err) {
          throw new RetryableError(
            `POST /auth/token failed: ${scrubServerText((err as Error).message)}`,
            err,
          );
        }
        const body = res.body;
        if (res.status !== 200 && res.status !== 201)
          throw new RetryableError(
            `POST /auth/token answered ${res.status}: ${serverExcerpt(body, 200)}`,
          );
        const token = (JSON.parse(body) as {access_token?: string})
          .access_token;
        if (!token)
          throw new RetryableError('POST /auth/token returned no access_token');
        return {value: token, expiresAt: jwtExpiry(token)};
      },
      60_000,
      true,
    );
  }
}
