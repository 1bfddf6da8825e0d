// Contacts as the API changes them: phones normalised to E.164 (default region from the config),
// fields and tags checked, bulk upserts answered row by row.
import type pg from 'pg';
import type { CountryCode } from 'libphonenumber-js/max';
import { withTransaction } from '../../db/pool.ts';
import { normalizePhone } from '../messages/phone.models.ts';
import {
  bulkTooLarge,
  duplicateInRequest,
  contactNotFound,
  invalidContact,
  invalidPhone,
  phoneTaken,
} from './contacts.errors.ts';
import { checkFields, checkTags } from './contacts.models.ts';
import { assertGroupsOwned, type ContactRow } from './contacts.repository.ts';
import {
  addGroupMembers,
  type ContactInput,
  deleteContact,
  getContact,
  insertContact,
  updateContact,
  upsertContacts,
} from './contacts.sql.ts';

export const BULK_MAX = 1_000;
export const MAX_NAME = 200;

export interface ContactDeps {
  pool: pg.Pool;
  now: () => Date;
  defaultRegion: CountryCode;
}

export interface ContactBody {
  phone: string;
  name?: string;
  fields?: Record<string, unknown>;
  tags?: unknown[];
}

export interface ContactView {
  id: string;
  phone: string;
  name: string;
  fields: Record<string, string>;
  tags: string[];
  opted_out: boolean;
  blacklisted: boolean;
  last_engaged_at: string | null;
  created_at: string;
  updated_at: string;
}

export function toContactView(r: ContactRow): ContactView {
  return {
    id: String(r.id),
    phone: r.phone,
    name: r.name,
    fields: r.fields,
    tags: r.tags,
    opted_out: r.opted_out,
    blacklisted: r.blacklisted,
    last_engaged_at: r.last_engaged_at?.toISOString() ?? null,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

type Checked = { ok: true; contact: ContactInput } | { ok: false; code: string; reason: string };

/** One contact as given, or why not: the phone normalised, name, fields and tags bounded. */
export function checkContact(body: Partial<ContactBody>, region: CountryCode): Checked {
  const phone = normalizePhone(String(body.phone ?? ''), region);
  if (!phone.ok) return { ok: false, code: invalidPhone.code, reason: phone.reason };
  if (body.name !== undefined && (typeof body.name !== 'string' || body.name.length > MAX_NAME)) {
    return {
      ok: false,
      code: invalidContact.code,
      reason: `name must be a string of at most ${MAX_NAME} characters`,
    };
  }
  const fields = body.fields === undefined ? undefined : checkFields(body.fields);
  if (fields && !fields.ok) return { ok: false, code: invalidContact.code, reason: fields.reason };
  const tags = body.tags === undefined ? undefined : checkTags(body.tags);
  if (tags && !tags.ok) return { ok: false, code: invalidContact.code, reason: tags.reason };
  return {
    ok: true,
    contact: {
      phone: phone.e164,
      ...(body.name === undefined ? {} : { name: body.name.trim() }),
      ...(fields ? { fields: fields.value } : {}),
      ...(tags ? { tags: tags.value } : {}),
    },
  };
}

function checkedOrThrow(body: Partial<ContactBody>, region: CountryCode): ContactInput {
  const checked = checkContact(body, region);
  if (checked.ok) return checked.contact;
  const factory = checked.code === invalidPhone.code ? invalidPhone : invalidContact;
  throw factory({ message: checked.reason });
}

export async function createContact({
  tenantId,
  body,
  groupIds = [],
  deps,
}: {
  tenantId: number;
  body: ContactBody;
  groupIds?: number[];
  deps: ContactDeps;
}): Promise<ContactView> {
  const c = checkedOrThrow(body, deps.defaultRegion);
  const now = deps.now();
  return withTransaction(deps.pool, async (tx) => {
    await assertGroupsOwned(tx, tenantId, groupIds);
    const id = await insertContact(tx, tenantId, { name: '', fields: {}, tags: [], ...c }, now);
    if (id === undefined) throw phoneTaken({ details: { phone: c.phone } });
    for (const g of groupIds) await addGroupMembers(tx, g, [id], now);
    return toContactView((await getContact(tx, tenantId, id))!);
  });
}

export async function readContact({
  tenantId,
  id,
  deps,
}: {
  tenantId: number;
  id: number;
  deps: ContactDeps;
}) {
  const row = await getContact(deps.pool, tenantId, id);
  if (!row) throw contactNotFound();
  return toContactView(row);
}

export async function changeContact({
  tenantId,
  id,
  body,
  replaceFields,
  deps,
}: {
  tenantId: number;
  id: number;
  body: Omit<Partial<ContactBody>, 'phone'>;
  replaceFields: boolean;
  deps: ContactDeps;
}): Promise<ContactView> {
  // The phone is the contact's identity (upserts match on it); it is not changed here.
  const checked = checkContact({ ...body, phone: '+8613800138000' }, deps.defaultRegion);
  if (!checked.ok) throw invalidContact({ message: checked.reason });
  const { name, fields, tags } = checked.contact;
  const found = await updateContact(
    deps.pool,
    tenantId,
    id,
    {
      ...(name === undefined ? {} : { name }),
      ...(fields ? { fields } : {}),
      ...(tags ? { tags } : {}),
      replaceFields,
    },
    deps.now(),
  );
  if (!found) throw contactNotFound();
  return readContact({ tenantId, id, deps });
}

export async function removeContact({
  tenantId,
  id,
  deps,
}: {
  tenantId: number;
  id: number;
  deps: ContactDeps;
}) {
  if (!(await deleteContact(deps.pool, tenantId, id))) throw contactNotFound();
}

export type BulkRowResult =
  | { index: number; status: 'created' | 'updated'; id: string; phone: string }
  | {
      index: number;
      status: 'invalid' | 'duplicate';
      phone: string | null;
      error: { code: string; message: string };
    };

/**
 * Upserts up to BULK_MAX contacts by phone, answering each row: created, updated, invalid (with
 * the reason) or duplicate (the same number earlier in the request; the first one counts). Valid
 * rows are written in one transaction, with their group memberships, whatever the invalid ones.
 */
export async function bulkUpsertContacts({
  tenantId,
  rows,
  groupId,
  replaceFields,
  deps,
}: {
  tenantId: number;
  rows: Partial<ContactBody>[];
  groupId?: number;
  replaceFields: boolean;
  deps: ContactDeps;
}): Promise<{
  results: BulkRowResult[];
  created: number;
  updated: number;
  invalid: number;
  duplicates: number;
}> {
  if (rows.length > BULK_MAX) throw bulkTooLarge({ details: { max: BULK_MAX, given: rows.length } });
  const results: BulkRowResult[] = new Array(rows.length);
  const valid: { index: number; contact: ContactInput }[] = [];
  const seen = new Set<string>();
  rows.forEach((row, index) => {
    const checked = checkContact(row ?? {}, deps.defaultRegion);
    if (!checked.ok) {
      const phone = typeof row?.phone === 'string' ? row.phone : null;
      results[index] = {
        index,
        status: 'invalid',
        phone,
        error: { code: checked.code, message: checked.reason },
      };
    } else if (seen.has(checked.contact.phone)) {
      results[index] = {
        index,
        status: 'duplicate',
        phone: checked.contact.phone,
        error: { code: duplicateInRequest.code, message: 'the same number appears earlier in this request' },
      };
    } else {
      seen.add(checked.contact.phone);
      valid.push({ index, contact: checked.contact });
    }
  });
  const now = deps.now();
  await withTransaction(deps.pool, async (tx) => {
    if (groupId !== undefined) await assertGroupsOwned(tx, tenantId, [groupId]);
    const written = await upsertContacts(
      tx,
      tenantId,
      valid.map((v) => v.contact),
      { now, replaceFields },
    );
    const byPhone = new Map(written.map((w) => [w.phone, w]));
    for (const v of valid) {
      const w = byPhone.get(v.contact.phone)!;
      results[v.index] = {
        index: v.index,
        status: w.created ? 'created' : 'updated',
        id: String(w.id),
        phone: w.phone,
      };
    }
    if (groupId !== undefined)
      await addGroupMembers(
        tx,
        groupId,
        written.map((w) => w.id),
        now,
      );
  });
  const count = (s: string) => results.filter((r) => r.status === s).length;
  return {
    results,
    created: count('created'),
    updated: count('updated'),
    invalid: count('invalid'),
    duplicates: count('duplicate'),
  };
}
