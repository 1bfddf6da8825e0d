// SQL of the smpp_accounts table (0023-smpp-server.sql), one function a statement.
import type pg from 'pg';

export interface SmppAccountRow {
  id: number;
  tenant_id: number;
  system_id: string;
  password_hash: string;
  allow_cidrs: string[];
  window_size: number;
  max_tps: number;
  receive_replies: boolean;
  created_at: Date;
  disabled_at: Date | null;
  last_bind_at: Date | null;
  last_bind_address: string | null;
}

/** The bind look-up: the account with its tenant's status. */
export interface BindableAccount extends SmppAccountRow {
  tenant_status: string;
}

type Queryable = Pick<pg.Pool, 'query'>;

export function createSmppAccountsRepository(pool: Queryable) {
  return {
    /** Null when the system_id is taken (unique violation). */
    async insertAccount(a: {
      tenantId: number;
      systemId: string;
      passwordHash: string;
      allow: readonly string[];
      windowSize: number;
      maxTps: number;
      receiveReplies: boolean;
    }): Promise<SmppAccountRow | null> {
      const { rows } = await pool.query<SmppAccountRow>(
        `insert into smpp_accounts
           (tenant_id, system_id, password_hash, allow_cidrs, window_size, max_tps, receive_replies)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (system_id) do nothing returning *`,
        [a.tenantId, a.systemId, a.passwordHash, a.allow, a.windowSize, a.maxTps, a.receiveReplies],
      );
      return rows[0] ?? null;
    },
    async listAccounts(tenantId: number): Promise<SmppAccountRow[]> {
      const { rows } = await pool.query<SmppAccountRow>(
        'select * from smpp_accounts where tenant_id = $1 order by id',
        [tenantId],
      );
      return rows;
    },
    async disableAccount(tenantId: number, id: number, at: Date): Promise<SmppAccountRow | null> {
      const { rows } = await pool.query<SmppAccountRow>(
        `update smpp_accounts set disabled_at = coalesce(disabled_at, $3)
          where tenant_id = $1 and id = $2 returning *`,
        [tenantId, id, at],
      );
      return rows[0] ?? null;
    },
    async findBySystemId(systemId: string): Promise<BindableAccount | null> {
      const { rows } = await pool.query<BindableAccount>(
        `select a.*, t.status as tenant_status
           from smpp_accounts a join tenants t on t.id = a.tenant_id
          where a.system_id = $1`,
        [systemId],
      );
      return rows[0] ?? null;
    },
    async recordBind(id: number, address: string, at: Date): Promise<void> {
      await pool.query('update smpp_accounts set last_bind_at = $2, last_bind_address = $3 where id = $1', [
        id,
        at,
        address,
      ]);
    },
    /** Whether the account may still bind (not disabled, tenant active): checked on each submit batch. */
    async activeAccountIds(ids: readonly number[]): Promise<Set<number>> {
      const { rows } = await pool.query<{ id: number }>(
        `select a.id from smpp_accounts a join tenants t on t.id = a.tenant_id
          where a.id = any ($1::bigint[]) and a.disabled_at is null and t.status = 'active'`,
        [ids],
      );
      return new Set(rows.map((r) => Number(r.id)));
    },
  };
}

export type SmppAccountsRepository = ReturnType<typeof createSmppAccountsRepository>;
