/**
 * The asset (dataset) endpoints of the Airflow stand-in (airflow-standin.ts):
 * the assets Airflow knows (declared by a test, as a parsed DAG that
 * schedules on them would) and the asset events created through the API, in
 * memory. Requests reach these handlers only once openapi-backend has
 * validated them against the Airflow package's own spec; every answer goes
 * through the stand-in's `answer`, which checks it against the operation's
 * response schema. The bodies follow Airflow 3.3's AssetResponse /
 * AssetEventResponse and Airflow 2.11's Dataset / DatasetEvent.
 *
 *   v2 (Airflow 3)  GET /api/v2/assets            get_assets (uri_pattern, uri_prefix_pattern)
 *                   GET /api/v2/assets/events     get_asset_events (asset_id)
 *                   POST /api/v2/assets/events    create_asset_event ({asset_id, extra})
 *   v1 (Airflow 2)  GET /api/v1/datasets/{uri}    get_dataset
 *                   GET /api/v1/datasets/events   get_dataset_events (dataset_id)
 *                   POST /api/v1/datasets/events  create_dataset_event ({dataset_uri, extra})
 */
import type {Context} from 'openapi-backend';
import type {ServerResponse} from 'node:http';

export interface StoredAssetEvent {
  id: number;
  assetId: number;
  uri: string;
  extra: Record<string, unknown>;
  timestamp: string;
}

interface StoredAsset {
  id: number;
  uri: string;
  createdAt: string;
  events: StoredAssetEvent[];
}

/** Writes a JSON answer after checking it against the operation's response schema. */
export type Answer = (
  c: Context,
  res: ServerResponse,
  status: number,
  body: unknown,
) => void;

type Handler = (c: Context, req: unknown, res: unknown) => void;

export class StandInAssets {
  private readonly byUri = new Map<string, StoredAsset>();
  private readonly byId = new Map<number, StoredAsset>();
  private nextEventId = 1;

  constructor(
    private readonly api: 'v1' | 'v2',
    private readonly answer: Answer,
  ) {}

  /** Airflow knows the asset from now on (as once a DAG declaring it is parsed); returns its id. */
  declare(uri: string): number {
    const known = this.byUri.get(uri);
    if (known) return known.id;
    const asset: StoredAsset = {
      id: this.byUri.size + 1,
      uri,
      createdAt: new Date().toISOString(),
      events: [],
    };
    this.byUri.set(uri, asset);
    this.byId.set(asset.id, asset);
    return asset.id;
  }

  /** The events created for an asset, oldest first. */
  eventsOf(uri: string): StoredAssetEvent[] {
    return this.byUri.get(uri)?.events ?? [];
  }

  /** openapi-backend handlers by operationId, for this stand-in's API. */
  handlers(): Record<string, Handler> {
    const on =
      (f: (c: Context, res: ServerResponse) => void): Handler =>
      (c, _req, res) =>
        f(c, res as ServerResponse);
    return this.api === 'v2'
      ? {
          get_assets: on((c, res) => this.getAssets(c, res)),
          get_asset_events: on((c, res) => this.getEvents(c, res)),
          create_asset_event: on((c, res) => this.create(c, res)),
        }
      : {
          get_dataset: on((c, res) => this.getDataset(c, res)),
          get_dataset_events: on((c, res) => this.getEvents(c, res)),
          create_dataset_event: on((c, res) => this.create(c, res)),
        };
  }

  private getAssets(c: Context, res: ServerResponse): void {
    const q = c.request.query as Record<string, string | undefined>;
    const contains = q.uri_pattern?.toLowerCase();
    const prefix = q.uri_prefix_pattern;
    const all = [...this.byUri.values()].filter(
      a =>
        (contains === undefined || a.uri.toLowerCase().includes(contains)) &&
        (prefix === undefined || a.uri.startsWith(prefix)),
    );
    if (q.order_by === 'uri') all.sort((x, y) => (x.uri < y.uri ? -1 : 1));
    const {limit, offset} = page(q, 50);
    this.answer(c, res, 200, {
      assets: all.slice(offset, offset + limit).map(a => ({
        id: a.id,
        name: a.uri,
        uri: a.uri,
        group: 'asset',
        extra: {},
        created_at: a.createdAt,
        updated_at: a.createdAt,
        scheduled_dags: [],
        producing_tasks: [],
        consuming_tasks: [],
        aliases: [],
        watchers: [],
        last_asset_event: null,
      })),
      total_entries: all.length,
    });
  }

  private getDataset(c: Context, res: ServerResponse): void {
    const uri = decodeURIComponent(String(c.request.params.uri));
    const a = this.byUri.get(uri);
    if (!a)
      return this.answer(c, res, 404, {
        detail: `The Dataset with uri: \`${uri}\` was not found`,
        status: 404,
        title: 'Dataset not found',
        type: 'https://airflow.apache.org/docs/apache-airflow/2.11.2/stable-rest-api-ref.html#section/Errors/NotFound',
      });
    this.answer(c, res, 200, {
      id: a.id,
      uri: a.uri,
      extra: {},
      created_at: a.createdAt,
      updated_at: a.createdAt,
      consuming_dags: [],
      producing_tasks: [],
    });
  }

  private getEvents(c: Context, res: ServerResponse): void {
    const q = c.request.query as Record<string, string | undefined>;
    const idParam = this.api === 'v2' ? q.asset_id : q.dataset_id;
    const events = [...this.byUri.values()]
      .filter(a => idParam === undefined || a.id === Number(idParam))
      .flatMap(a => a.events);
    const order = String(q.order_by ?? 'timestamp');
    events.sort((x, y) => x.id - y.id);
    if (order.startsWith('-')) events.reverse();
    const {limit, offset} = page(q, this.api === 'v2' ? 50 : 100);
    const shown = events.slice(offset, offset + limit).map(e => this.event(e));
    this.answer(c, res, 200, {
      [this.api === 'v2' ? 'asset_events' : 'dataset_events']: shown,
      total_entries: events.length,
    });
  }

  private create(c: Context, res: ServerResponse): void {
    const body = c.request.requestBody as {
      asset_id?: number;
      dataset_uri?: string;
      extra?: Record<string, unknown> | null;
    };
    const asset =
      this.api === 'v2'
        ? this.byId.get(Number(body.asset_id))
        : this.byUri.get(String(body.dataset_uri));
    if (!asset)
      return this.answer(
        c,
        res,
        404,
        this.api === 'v2'
          ? {detail: `Asset with ID: \`${body.asset_id}\` was not found`}
          : {
              detail: `Dataset with uri: '${body.dataset_uri}' not found`,
              status: 404,
              title: 'Dataset not found',
              type: 'https://airflow.apache.org/docs/apache-airflow/2.11.2/stable-rest-api-ref.html#section/Errors/NotFound',
            },
      );
    const event: StoredAssetEvent = {
      id: this.nextEventId++,
      assetId: asset.id,
      uri: asset.uri,
      // Airflow 2 and 3 mark the events their REST API created.
      extra: {...(body.extra ?? {}), from_rest_api: true},
      timestamp: new Date().toISOString(),
    };
    asset.events.push(event);
    this.answer(c, res, 200, this.event(event));
  }

  private event(e: StoredAssetEvent): Record<string, unknown> {
    const source = {
      source_task_id: null,
      source_dag_id: null,
      source_run_id: null,
      source_map_index: -1,
      created_dagruns: [],
      timestamp: e.timestamp,
    };
    return this.api === 'v2'
      ? {
          id: e.id,
          asset_id: e.assetId,
          uri: e.uri,
          name: e.uri,
          group: 'asset',
          extra: e.extra,
          ...source,
          partition_key: null,
        }
      : {dataset_id: e.assetId, dataset_uri: e.uri, extra: e.extra, ...source};
  }
}

function page(
  q: Record<string, string | undefined>,
  defaultLimit: number,
): {limit: number; offset: number} {
  return {
    limit: Math.min(Number(q.limit ?? defaultLimit), 100),
    offset: Number(q.offset ?? 0),
  };
}
