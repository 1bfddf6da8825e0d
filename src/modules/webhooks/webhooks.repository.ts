// A tenant's endpoints and deliveries, as the API reads and changes them. Every statement names
// the tenant: a row of another tenant is never found.
import type pg from 'pg';
import { withTransaction } from '../../db/pool.ts';

export interface EndpointRow {
  id: number;
  tenant_id: number;
  url: string;
  events: string[];
  description: string;
  secret_sealed: string;
  enabled: boolean;
  format: string;
  created_at: Date;
  updated_at: Date;
}

export interface DeliveryRow {
  id: number;
  endpoint_id: number | null;
  callback_url: string | null;
  event_id: number;
  event_type: string;
  message_id: number | null;
  payload: unknown;
  state: string;
  attempts: number;
  next_attempt_at: Date;
  last_status: number | null;
  last_error: string | null;
  attempt_ids: number[];
  replay_of: number | null;
  created_at: Date;
  done_at: Date | null;
}

export interface AttemptRow {
  id: number;
  url: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  at: Date;
  delivery_ids: number[];
}

const ENDPOINT =
  'id, tenant_id, url, events, description, secret_sealed, enabled, format, created_at, updated_at';

export function createWebhooksRepository(pool: pg.Pool) {
  return {
    async insertEndpoint(e: {
      tenantId: number;
      url: string;
      events: string[];
      description: string;
      format: string;
      secretSealed: string;
      now: Date;
    }): Promise<EndpointRow> {
      const { rows } = await pool.query<EndpointRow>(
        `insert into webhook_endpoints (tenant_id, url, events, description, format, secret_sealed, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $7) returning ${ENDPOINT}`,
        [e.tenantId, e.url, e.events, e.description, e.format, e.secretSealed, e.now],
      );
      return rows[0]!;
    },
    async listEndpoints(tenantId: number): Promise<EndpointRow[]> {
      const { rows } = await pool.query<EndpointRow>(
        `select ${ENDPOINT} from webhook_endpoints where tenant_id = $1 and deleted_at is null order by id`,
        [tenantId],
      );
      return rows;
    },
    async getEndpoint(tenantId: number, id: number): Promise<EndpointRow | undefined> {
      const { rows } = await pool.query<EndpointRow>(
        `select ${ENDPOINT} from webhook_endpoints where tenant_id = $1 and id = $2 and deleted_at is null`,
        [tenantId, id],
      );
      return rows[0];
    },
    async updateEndpoint(
      tenantId: number,
      id: number,
      change: {
        url?: string;
        events?: string[];
        description?: string;
        enabled?: boolean;
        format?: string;
        secretSealed?: string;
      },
      now: Date,
    ): Promise<EndpointRow | undefined> {
      const { rows } = await pool.query<EndpointRow>(
        `update webhook_endpoints set url = coalesce($3, url), events = coalesce($4, events),
           description = coalesce($5, description), enabled = coalesce($6, enabled),
           secret_sealed = coalesce($7, secret_sealed), format = coalesce($9, format), updated_at = $8
         where tenant_id = $1 and id = $2 and deleted_at is null returning ${ENDPOINT}`,
        [
          tenantId,
          id,
          change.url ?? null,
          change.events ?? null,
          change.description ?? null,
          change.enabled ?? null,
          change.secretSealed ?? null,
          now,
          change.format ?? null,
        ],
      );
      return rows[0];
    },
    /** Soft delete; its pending deliveries are dead-lettered in the same transaction. */
    async deleteEndpoint(tenantId: number, id: number, now: Date): Promise<boolean> {
      return withTransaction(pool, async (client) => {
        const res = await client.query(
          `update webhook_endpoints set deleted_at = $3, enabled = false
           where tenant_id = $1 and id = $2 and deleted_at is null`,
          [tenantId, id, now],
        );
        if (res.rowCount === 0) return false;
        await client.query(
          `update webhook_deliveries set state = 'dead', done_at = $2, last_error = 'endpoint deleted', leased_until = null
           where endpoint_id = $1 and state = 'pending'`,
          [id, now],
        );
        return true;
      });
    },
    async listDeliveries(f: {
      tenantId: number;
      endpointId?: number;
      state?: string;
      messageId?: number;
      beforeId?: number;
      limit: number;
    }): Promise<DeliveryRow[]> {
      const { rows } = await pool.query<DeliveryRow>(
        `select * from webhook_deliveries
          where tenant_id = $1 and ($2::bigint is null or endpoint_id = $2) and ($3::text is null or state = $3)
            and ($4::bigint is null or message_id = $4) and ($5::bigint is null or id < $5)
          order by id desc limit $6`,
        [f.tenantId, f.endpointId ?? null, f.state ?? null, f.messageId ?? null, f.beforeId ?? null, f.limit],
      );
      return rows;
    },
    async getDelivery(tenantId: number, id: number): Promise<DeliveryRow | undefined> {
      const { rows } = await pool.query<DeliveryRow>(
        'select * from webhook_deliveries where tenant_id = $1 and id = $2',
        [tenantId, id],
      );
      return rows[0];
    },
    async attemptsOf(tenantId: number, ids: number[]): Promise<AttemptRow[]> {
      if (ids.length === 0) return [];
      const { rows } = await pool.query<AttemptRow>(
        `select id, url, status_code, error, duration_ms, at, delivery_ids from webhook_attempts
          where tenant_id = $1 and id = any ($2::bigint[]) order by id`,
        [tenantId, ids],
      );
      return rows;
    },
    /** A new pending delivery of the same event to the same destination (the old one is kept). */
    async replayDelivery(tenantId: number, id: number, now: Date): Promise<DeliveryRow | undefined> {
      const { rows } = await pool.query<DeliveryRow>(
        `insert into webhook_deliveries (tenant_id, endpoint_id, callback_url, event_id, event_type, message_id,
           payload, next_attempt_at, replay_of, created_at)
         select d.tenant_id, d.endpoint_id, d.callback_url, d.event_id, d.event_type, d.message_id, d.payload,
                $3, d.id, $3
           from webhook_deliveries d
          where d.tenant_id = $1 and d.id = $2 and d.state <> 'pending'
            and (d.endpoint_id is null
                 or exists (select 1 from webhook_endpoints w where w.id = d.endpoint_id and w.deleted_at is null))
         returning *`,
        [tenantId, id, now],
      );
      return rows[0];
    },
    async setCallbackSecret(tenantId: number, secretSealed: string, now: Date): Promise<void> {
      await pool.query(
        `insert into webhook_callback_secrets (tenant_id, secret_sealed, created_at) values ($1, $2, $3)
         on conflict (tenant_id) do update set secret_sealed = excluded.secret_sealed, created_at = excluded.created_at`,
        [tenantId, secretSealed, now],
      );
    },
  };
}

export type WebhooksRepository = ReturnType<typeof createWebhooksRepository>;
