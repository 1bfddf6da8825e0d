// Verify API codes hidden in message rows read outside the message views (the compatibility
// APIs' own shapes): the same lookup and mask as toMessageView's.
import { maskCode } from '../verifications/verifications.models.ts';
import type { MessagesRepository } from './messages.repository.ts';

/** The rows, each code the Verify API sent in one shown as asterisks of its length. */
export async function maskSentCodes<T extends { id: number | string; type: string; content: string }>(
  repository: Pick<MessagesRepository, 'sentCodesOf'>,
  tenantId: number,
  rows: readonly T[],
): Promise<T[]> {
  const codes = await repository.sentCodesOf(
    tenantId,
    rows.map((r) => ({ id: Number(r.id), type: r.type })),
  );
  return rows.map((r) => {
    const code = codes.get(Number(r.id));
    return code === undefined ? r : { ...r, content: maskCode(r.content, code) };
  });
}
