import { describe, expect, it } from 'vitest';
import {
  generatePassword,
  generateSystemId,
  PASSWORD_MAX,
  SYSTEM_ID_MAX,
  validateSmppAccountInput,
} from './smpp-accounts.models.ts';

describe('SMPP account models', () => {
  it('generates credentials within the SMPP 3.4 limits', () => {
    for (let i = 0; i < 50; i++) {
      expect(generateSystemId().length).toBeLessThanOrEqual(SYSTEM_ID_MAX);
      expect(generatePassword()).toMatch(new RegExp(`^[A-Za-z0-9]{${PASSWORD_MAX}}$`));
    }
  });

  it('lists every problem of the settings', () => {
    expect(validateSmppAccountInput({ allow: [], windowSize: 50, maxTps: 100 })).toEqual([]);
    const problems = validateSmppAccountInput({
      systemId: 'sixteen-chars-id',
      allow: ['10.0.0.0/8', 'not-a-cidr'],
      windowSize: 0,
      maxTps: 1.5,
    });
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toContain('system_id');
    expect(problems.join('\n')).toContain('not-a-cidr');
  });
});
