// Two-factor set-up: enrol (a secret shown once), confirm with a first code (which turns it on and
// gives ten recovery codes), disable (with the password). Each change is audited.
import { verify as argon2Verify } from '@node-rs/argon2';
import { invalidCode, invalidCredentials, twoFactorState } from './accounts.errors.ts';
import { actorOf, audit, type Queryable } from './audit.ts';
import {
  deleteSubjectSessions,
  promoteEnrolSession,
  replaceRecoveryCodes,
  setTotp,
  type Subject,
} from './sessions.repository.ts';
import {
  base32Decode,
  hashRecoveryCode,
  matchTotp,
  newRecoveryCodes,
  newTotpSecret,
  otpauthUri,
} from './totp.models.ts';
import { openTotpSeed, sealTotpSeed } from './totp-seeds.ts';
import type { KeyRingSource } from '../../shared/secrets.ts';

export async function enrolTwoFactor({
  db,
  subject,
  keyRing,
  issuer = 'Hongyan',
}: {
  db: Queryable;
  subject: Subject;
  keyRing: KeyRingSource;
  issuer?: string;
}) {
  if (subject.totpSecret) throw twoFactorState({ message: 'Two-factor is already on; disable it first.' });
  const secret = newTotpSecret();
  await setTotp(db, subject.kind, subject.id, { pending: sealTotpSeed(keyRing, secret) });
  return { secret, otpauth_uri: otpauthUri({ secret, account: subject.login, issuer }) };
}

export async function confirmTwoFactor({
  db,
  subject,
  code,
  sessionIdHash,
  ip,
  now,
  keyRing,
}: {
  db: Queryable;
  subject: Subject;
  keyRing: KeyRingSource;
  code: string;
  sessionIdHash: Buffer;
  ip: string;
  now: Date;
}) {
  if (subject.totpSecret || !subject.totpPendingSecret) {
    throw twoFactorState({
      message: 'No two-factor set-up is pending; start one with POST /v1/auth/two-factor.',
    });
  }
  const step = matchTotp({
    key: base32Decode(openTotpSeed(keyRing, subject.totpPendingSecret)),
    code,
    unixSeconds: Math.floor(now.getTime() / 1000),
    lastStep: null,
  });
  if (step === null) throw invalidCode();
  // The pending value moves as it is stored (sealed); it is never written back in plain text.
  await setTotp(db, subject.kind, subject.id, {
    secret: subject.totpPendingSecret,
    pending: null,
    lastStep: step,
  });
  const codes = newRecoveryCodes();
  await replaceRecoveryCodes(db, subject.kind, subject.id, codes.map(hashRecoveryCode));
  // Sessions opened without the second factor end; this one, which just proved it, goes on.
  await deleteSubjectSessions(db, subject.kind, subject.id, sessionIdHash);
  await promoteEnrolSession(db, sessionIdHash);
  await audit(
    db,
    { actor: actorOf(subject), tenantId: subject.tenantId, action: 'two_factor.enabled', ip },
    now,
  );
  return { recovery_codes: codes };
}

export async function disableTwoFactor({
  db,
  subject,
  password,
  ip,
  now,
}: {
  db: Queryable;
  subject: Subject;
  password: string;
  ip: string;
  now: Date;
}) {
  if (!subject.totpSecret) throw twoFactorState({ message: 'Two-factor is off.' });
  if (subject.twoFactorRequired)
    throw twoFactorState({ message: 'The operator requires two-factor for this account.' });
  const ok = subject.passwordHash
    ? await argon2Verify(subject.passwordHash, password).catch(() => false)
    : false;
  if (!ok) throw invalidCredentials({ message: 'The password is wrong.' });
  await setTotp(db, subject.kind, subject.id, { secret: null, pending: null, lastStep: null });
  await replaceRecoveryCodes(db, subject.kind, subject.id, []);
  await audit(
    db,
    { actor: actorOf(subject), tenantId: subject.tenantId, action: 'two_factor.disabled', ip },
    now,
  );
}
