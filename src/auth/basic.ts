/**
 * auth mode `basic` (self-managed Airflow 2 with the FAB basic-auth backend;
 * the experimental API). The password comes from an env var, which
 * `gcloud functions deploy --set-secrets` fills from Secret Manager.
 */
import type {AirflowAuth} from './types';
import {rememberPassword} from '../logging/secrets';

export class BasicAuth implements AirflowAuth {
  readonly mode = 'basic';
  private readonly header: string;

  constructor(username: string, password: string) {
    const encoded = Buffer.from(`${username}:${password}`).toString('base64');
    this.header = `Basic ${encoded}`;
    rememberPassword(password, username); // its base64 pair is the header's value
  }

  async headers(): Promise<Record<string, string>> {
    return {Authorization: this.header};
  }

  ready(): Record<string, string> {
    return {Authorization: this.header};
  }
}
