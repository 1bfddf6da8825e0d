// Login failures per account and per client address: the attempt is refused while either is
// backing off or locked (rules in sessions.models.ts); each failure is counted and audited.
import { loginDelayed, loginLocked } from './accounts.errors.ts';
import { actorOf, audit, type Queryable } from './audit.ts';
import { afterFailure, isLocked, nextAttemptAt } from './sessions.models.ts';
import { pruneLoginFailures, readFailures, type Subject, writeFailure } from './sessions.repository.ts';
import type { LoginSettings } from './sessions.usecases.ts';

function retryAfterSeconds(until: Date, now: Date) {
  return Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
}

/** Refuses the attempt while the account or the address is locked or backing off. */
export async function checkBackoff(
  db: Queryable,
  accountKey: string,
  ip: string,
  settings: LoginSettings,
  now: Date,
) {
  const states = await readFailures(db, [
    { scope: 'account', key: accountKey },
    { scope: 'address', key: ip },
  ]);
  const account = states.get(`account:${accountKey}`) ?? null;
  const address = states.get(`address:${ip}`) ?? null;
  for (const [state, policy] of [
    [account, settings.account],
    [address, settings.address],
  ] as const) {
    const until = nextAttemptAt(state, policy, now);
    if (!until) continue;
    const retryAfter = retryAfterSeconds(until, now);
    throw (isLocked(state, now) ? loginLocked : loginDelayed)({ details: { retry_after: retryAfter } });
  }
  return { account, address };
}

export async function recordFailure({
  db,
  accountKey,
  ip,
  settings,
  now,
  subject,
  login,
  action,
}: {
  db: Queryable;
  accountKey: string;
  ip: string;
  settings: LoginSettings;
  now: Date;
  subject: Subject | null;
  login: string;
  action: string;
}) {
  const before = await readFailures(db, [
    { scope: 'account', key: accountKey },
    { scope: 'address', key: ip },
  ]);
  const account = afterFailure(before.get(`account:${accountKey}`) ?? null, settings.account, now);
  const address = afterFailure(before.get(`address:${ip}`) ?? null, settings.address, now);
  await writeFailure(db, 'account', accountKey, account);
  await writeFailure(db, 'address', ip, address);
  await pruneLoginFailures(db, now, settings.account.lockoutMs);
  const actor = subject ? actorOf(subject) : 'anonymous';
  const tenantId = subject?.tenantId ?? null;
  await audit(db, { actor, tenantId, action, target: login, after: { failures: account.failures }, ip }, now);
  if (isLocked(account, now) && !isLocked(before.get(`account:${accountKey}`) ?? null, now)) {
    await audit(
      db,
      { actor, tenantId, action: 'auth.locked', target: login, after: { until: account.lockedUntil }, ip },
      now,
    );
  }
  if (isLocked(address, now) && !isLocked(before.get(`address:${ip}`) ?? null, now)) {
    await audit(db, { actor: 'anonymous', action: 'auth.address_locked', target: ip, ip }, now);
  }
}
