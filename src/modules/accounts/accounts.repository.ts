import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';

export function createAccountsRepository(db: Kysely<Database>) {
  return {
    async insertTenant({ name }: { name: string }) {
      return db.transaction().execute(async (trx) => {
        const tenant = await trx
          .insertInto('tenants')
          .values({ name })
          .returningAll()
          .executeTakeFirstOrThrow();
        // Extension codes start at 1001 so they never look like a short service code.
        const senderCode = String(1000 + tenant.id);
        return trx
          .updateTable('tenants')
          .set({ sender_code: senderCode })
          .where('id', '=', tenant.id)
          .returningAll()
          .executeTakeFirstOrThrow();
      });
    },
    async getTenantById(id: number) {
      return db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async listTenants() {
      return db.selectFrom('tenants').selectAll().orderBy('id').execute();
    },
    async insertApiKey({
      tenantId,
      keyId,
      secretHash,
      name,
    }: {
      tenantId: number;
      keyId: string;
      secretHash: Buffer;
      name?: string;
    }) {
      return db
        .insertInto('api_keys')
        .values({ tenant_id: tenantId, key_id: keyId, secret_hash: secretHash, name: name ?? '' })
        .returning(['id', 'key_id', 'tenant_id', 'name', 'created_at'])
        .executeTakeFirstOrThrow();
    },
    async findActiveKey(keyId: string) {
      return db
        .selectFrom('api_keys')
        .innerJoin('tenants', 'tenants.id', 'api_keys.tenant_id')
        .select(['api_keys.tenant_id', 'api_keys.secret_hash', 'tenants.status'])
        .where('api_keys.key_id', '=', keyId)
        .where('api_keys.revoked_at', 'is', null)
        .executeTakeFirst();
    },
    async countOperators() {
      const row = await db
        .selectFrom('operators')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async insertOperator({ username, passwordHash }: { username: string; passwordHash: string }) {
      return db
        .insertInto('operators')
        .values({ username, password_hash: passwordHash })
        .onConflict((oc) => oc.column('username').doNothing())
        .returning(['id', 'username'])
        .executeTakeFirst();
    },
  };
}

export type AccountsRepository = ReturnType<typeof createAccountsRepository>;
