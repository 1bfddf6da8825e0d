import { describe, expect, it } from 'vitest';
import { createReroutes } from './reroutes.models.ts';

describe('channel-specific reject codes', () => {
  it('sends a message elsewhere once, only for a code the channel marks', () => {
    const r = createReroutes();
    expect(r.shouldReroute(1, 7, 'smpp.ESME_RINVDSTADR', ['smpp.ESME_RSUBMITFAIL'])).toBe(false);
    expect(r.avoid(1)).toBeUndefined();
    expect(r.shouldReroute(1, 7, 'smpp.ESME_RSUBMITFAIL', ['smpp.ESME_RSUBMITFAIL'])).toBe(true);
    expect(r.avoid(1)).toBe(7);
    // Refused again (anywhere): it ends as the refusal says.
    expect(r.shouldReroute(1, 8, 'smpp.ESME_RSUBMITFAIL', ['smpp.ESME_RSUBMITFAIL'])).toBe(false);
  });

  it('forgets the oldest message past its bound', () => {
    const r = createReroutes(2);
    for (const id of [1, 2, 3]) r.shouldReroute(id, 7, 'x', ['x']);
    expect(r.avoid(1)).toBeUndefined();
    expect(r.avoid(3)).toBe(7);
  });
});
