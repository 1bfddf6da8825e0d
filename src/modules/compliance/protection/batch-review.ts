// What the messages routes need from recipient protection: a batch's marketing review as its
// views show it, and the body of a schedule change.
import type pg from 'pg';
import { getReview, reviewView } from './review.sql.ts';

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export async function batchReview(db: Queryable, batchId: string | number, tenantId: number) {
  return reviewView(await getReview(db, Number(batchId), tenantId));
}

export const rescheduleBody = {
  type: 'object',
  required: ['send_at'],
  additionalProperties: false,
  properties: {
    send_at: {
      type: 'string',
      maxLength: 64,
      description: 'The new time, ISO 8601 with a time zone; the current one must be at least an hour away.',
    },
  },
} as const;
