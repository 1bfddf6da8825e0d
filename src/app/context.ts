// The dependencies the roles share, built once per process (composition root).
import type { Logger } from 'pino';
import type { Db } from '../db/pool.ts';
import { createQuotaStep } from '../modules/billing/charging.ts';
import { createAccountsRepository } from '../modules/accounts/accounts.repository.ts';
import { createAuthenticator } from '../modules/accounts/accounts.usecases.ts';
import { createCredentialsRepository } from '../modules/credentials/credentials.repository.ts';
import { createSignedRequestVerifier } from '../modules/credentials/credentials.verify.ts';
import { nonceAdmissionStep } from '../modules/credentials/nonce.admission.ts';
import { protectionSteps } from '../modules/compliance/protection/protection.admission.ts';
import { createRulesProvider } from '../modules/compliance/rules/rules.provider.ts';
import { createAdmission } from '../modules/messages/admission.ts';
import { createIntake, type DirectClaimer } from '../modules/messages/intake.ts';
import { createMessagesRepository } from '../modules/messages/messages.repository.ts';
import { lazyKeyRing, loadKeyRing } from '../shared/secrets.ts';
import type { Config } from './config.ts';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export function createContext({
  config,
  db,
  logger,
  clock = systemClock,
}: {
  config: Config;
  db: Db;
  logger: Logger;
  clock?: Clock;
}) {
  const accounts = createAccountsRepository(db.kysely);
  const messages = createMessagesRepository(db.kysely);
  // Loaded at first use: a process that never opens a secret never reads or creates a key.
  const keyRing = lazyKeyRing(() => loadKeyRing({ masterKey: config.masterKey, dataDir: config.dataDir }));
  const credentials = createCredentialsRepository(db.pool);
  const queueListeners = new Set<() => void>();
  const notifyQueued = () => {
    for (const listener of queueListeners) listener();
  };
  // Modules that count or reserve per message (caps, quota) add their steps here at start-up.
  const admission = createAdmission();
  // A signed single send's nonce (10): a replay is refused before anything counts for it.
  admission.add(nonceAdmissionStep());
  // Blacklists and opt-outs beside quiet hours and frequency caps (100), marketing review (300);
  // the lists are read on a spare connection of the pool while the caps count on the transaction's.
  for (const step of protectionSteps({ pool: db.pool })) admission.add(step);
  // Quota reservation (900) runs last, so a message another step refuses is never charged.
  if (config.billing) admission.add(createQuotaStep());
  // This node's dispatcher, once its worker has started one (worker.ts): single sends due now are
  // claimed as they are written (intake.ts DirectClaimer).
  let directClaimer: DirectClaimer | null = null;
  const intake = createIntake({
    pool: db.pool,
    admission,
    claimer: () => directClaimer,
    now: () => clock.now(),
    onInserted: (rows) => {
      if (rows.some((r) => r.status === 'queued')) notifyQueued();
    },
  });
  return {
    config,
    db,
    logger,
    clock,
    accounts,
    messages,
    admission,
    intake,
    authenticate: createAuthenticator({ repository: accounts }),
    keyRing,
    credentials,
    /** The compiled content rule sets (compliance rules engine), rechecked every few seconds. */
    rules: createRulesProvider(db.pool, {
      onError: (err) => logger.warn({ err }, 'compliance rules: checking for changed rule sets failed'),
    }),
    signedRequests: createSignedRequestVerifier({
      repository: credentials,
      keyRing,
      windowSeconds: config.signatureWindowSeconds,
      defaultRateLimit: config.credentialRateLimit,
      now: () => clock.now().getTime(),
      onBackgroundError: (err) =>
        logger.warn({ err }, 'signed requests: recording last use or sweeping nonces failed'),
    }),
    /** In-process wake-up of the dispatcher when new work is queued (other nodes poll). */
    onQueued(listener: () => void) {
      queueListeners.add(listener);
      return () => queueListeners.delete(listener);
    },
    notifyQueued,
    /** The worker's dispatcher takes single sends as they are written; null when it stops. */
    setDirectClaimer(claimer: DirectClaimer | null) {
      directClaimer = config.directClaims ? claimer : null;
    },
  };
}

export type AppContext = ReturnType<typeof createContext>;
