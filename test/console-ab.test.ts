// The campaign form's A/B test in a real browser (playwright-core driving the Debian Chromium)
// against a running Hongyan, the console built and served as `hongyan start` does (the start-up
// and login of console-campaigns.test.ts). A campaign with two variants is made through the form
// and read back through the API: its `ab` is exactly what was entered. Then what the API refuses:
// the form shows the same code the API answers for the same settings (one variant, a share out of
// range, a reserved name, a recurring schedule) and keeps Create disabled; and a refusal only the
// API can know (a variant's signature deleted while the form was open) is shown with the API's
// code and message, and nothing is created.
import type { APIRequestContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMember } from '../src/modules/accounts/accounts.testkit.ts';
import { enUS } from '../web/src/i18n/en-US.ts';
import {
  type ConsoleRig,
  haveChromium,
  logInMember,
  openConsole,
  pickOption,
  poll,
  startConsoleRig,
  warnIfNoChromium,
} from './helpers/console.ts';
import { newSendingTenant } from './helpers/hongyan.ts';

warnIfNoChromium('console A/B browser tests');

const NUMBERS = ['13800138301', '13800138302', '13800138303', '13800138304'];

let rig: ConsoleRig;
let page: Page;
const member = { email: 'ab@console.test', password: 'correct horse battery' };

/** A select of antd, by its test id. */
const pick = (testId: string, option: string) => pickOption(page.getByTestId(testId), option);

/** The select of a variant's signature (the one select in the variant's card). */
const pickVariantSignature = (i: number, option: string) => pick(`ab-variant-${i}`, option);

/** Fills an input and leaves it, so an antd InputNumber commits its value. */
async function type(testId: string, value: string) {
  const input = page.getByTestId(testId);
  await input.fill(value);
  await input.blur();
}

/** The API's answer to a body, sent as the console sends it (session cookie and CSRF token). */
async function apiCreate(request: APIRequestContext, body: unknown) {
  const cookies = await page.context().cookies();
  const csrf = cookies.find((c) => c.name === 'hy_csrf')?.value ?? '';
  const res = await request.post('/v1/campaigns', {
    data: body,
    headers: { 'x-csrf-token': decodeURIComponent(csrf) },
  });
  return { status: res.status(), body: (await res.json()) as { error?: { code: string; message: string } } };
}

/** The common part of a campaign: a name, pasted numbers and the main text. */
async function fillBasics(name: string) {
  await page.goto('/campaigns/new');
  await page.getByTestId('campaign-name').fill(name);
  await page
    .locator('.ant-form-item', { hasText: 'Extra pasted numbers' })
    .locator('textarea')
    .fill(NUMBERS.join('\n'));
  await page.getByTestId('campaign-content').fill('Spring sale, main text');
  await pick('campaign-signature', '【鸿雁】');
  await page.getByTestId('ab-enable').check();
  await page.getByTestId('ab-section').waitFor();
}

const baseBody = {
  name: 'Refused',
  audience: { numbers: NUMBERS.join('\n') },
  content: 'Spring sale, main text',
  type: 'notification',
  sign_name: '鸿雁',
};
const twoVariants = [
  { name: 'A', content: 'Text A' },
  { name: 'B', content: 'Text B' },
];
const validAb = { variants: twoVariants, test_share: 0.5, decide_after_minutes: 240, metric: 'click_rate' };

beforeAll(async () => {
  if (!haveChromium) return;
  rig = await startConsoleRig();
  const created = await newSendingTenant(rig.t.db, 'ab', ['鸿雁', '鸿雁优选']);
  await newMember(rig.t.db, created.tenant.id, member.email, 'owner', member.password);
  page = await openConsole(rig, { lang: 'en-US', viewport: { width: 1280, height: 1000 } });
  await logInMember(page, member);
}, 240_000);

afterAll(() => rig?.close());

describe.skipIf(!haveChromium)('the campaign form sets up an A/B test', () => {
  it('creates a campaign with two variants whose ab reads back exactly as entered', async () => {
    await fillBasics('Spring A/B');
    await page.getByTestId('ab-content-0').fill('Spring sale: 10% off');
    await page.getByTestId('ab-content-1').fill('Spring sale: a gift with every order');
    await type('ab-delay-1', '60');
    await pickVariantSignature(1, '鸿雁优选');
    await type('ab-share', '30');
    await pick('ab-metric', 'Delivery rate');
    await type('ab-decide', '45');
    await type('ab-seed', '42');
    await page.getByTestId('ab-auto').uncheck();
    await poll(() => page.getByTestId('campaign-create').isEnabled()).toBe(true);

    await page.getByTestId('campaign-create').click();
    await page.waitForURL(/\/campaigns\/\d+$/);
    const id = /\/campaigns\/(\d+)$/.exec(page.url())![1]!;
    const campaign = (await (await page.request.get(`/v1/campaigns/${id}`)).json()) as {
      name: string;
      ab: unknown;
    };
    expect(campaign.name).toBe('Spring A/B');
    expect(campaign.ab).toEqual({
      variants: [
        { name: 'A', content: 'Spring sale: 10% off' },
        {
          name: 'B',
          content: 'Spring sale: a gift with every order',
          sign_name: '鸿雁优选',
          delay_minutes: 60,
        },
      ],
      test_share: 0.3,
      seed: 42,
      decide_after_minutes: 45,
      metric: 'delivery_rate',
      auto: false,
    });
    // The report page shows the test and its two variants.
    await page.getByText('A/B test results').waitFor();
    const abCard = page.locator('.ant-card', { hasText: 'Run of' }).last();
    await poll(() => abCard.locator('tbody tr td:first-child').allTextContents()).toEqual(['A', 'B']);
  }, 240_000);

  it('refuses what the API refuses, with the code the API answers', async () => {
    await fillBasics('Refused');
    const create = page.getByTestId('campaign-create');
    const formError = page.getByTestId('ab-error');

    // One variant only.
    await page.getByTestId('ab-variant-1').getByRole('button', { name: 'Remove' }).click();
    await poll(() => formError.textContent()).toBe(
      'An A/B test needs at least two variants (request.invalid)',
    );
    expect(await create.isDisabled()).toBe(true);
    const one = await apiCreate(page.request, {
      ...baseBody,
      ab: { ...validAb, variants: [twoVariants[0]] },
    });
    expect([one.status, one.body.error?.code]).toEqual([400, 'request.invalid']);

    // A second variant again (named B), its text given, and the form can be sent.
    await page.getByTestId('ab-add-variant').click();
    expect(await page.getByTestId('ab-name-1').inputValue()).toBe('B');
    await page.getByTestId('ab-content-0').fill('Text A');
    await page.getByTestId('ab-content-1').fill('Text B');
    await poll(() => create.isEnabled()).toBe(true);

    // A share out of range (150 %).
    await type('ab-share', '150');
    const shareItem = page.locator('.ant-form-item', { has: page.getByTestId('ab-share') });
    await poll(() => shareItem.locator('.ant-form-item-explain').textContent()).toBe(
      'Above 0 and at most 100 % (request.invalid)',
    );
    expect(await create.isDisabled()).toBe(true);
    const share = await apiCreate(page.request, { ...baseBody, ab: { ...validAb, test_share: 1.5 } });
    expect([share.status, share.body.error?.code]).toEqual([400, 'request.invalid']);
    await type('ab-share', '50');

    // A reserved name: the API's own A/B check (campaigns.invalid_ab), past its schema.
    await page.getByTestId('ab-name-1').fill('main');
    const nameItem = page.locator('.ant-form-item', { has: page.getByTestId('ab-name-1') });
    await poll(() => nameItem.locator('.ant-form-item-explain').textContent()).toBe(
      'main and rest are reserved names (campaigns.invalid_ab)',
    );
    expect(await create.isDisabled()).toBe(true);
    const reserved = await apiCreate(page.request, {
      ...baseBody,
      ab: { ...validAb, variants: [twoVariants[0], { name: 'main', content: 'Text B' }] },
    });
    expect([reserved.status, reserved.body.error]).toEqual([
      400,
      { code: 'campaigns.invalid_ab', message: '`main` and `rest` are reserved names' },
    ]);
    await page.getByTestId('ab-name-1').fill('B');

    // A recurring schedule: an A/B test runs once.
    await page.locator('.ant-radio-button-wrapper', { hasText: 'Recurring' }).click();
    await poll(() => formError.textContent()).toBe(
      'An A/B test runs once: not on a recurring schedule (campaigns.invalid_ab)',
    );
    expect(await create.isDisabled()).toBe(true);
    const recurring = await apiCreate(page.request, {
      ...baseBody,
      schedule: { kind: 'recurring', rule: { kind: 'daily', time: '09:00' } },
      ab: validAb,
    });
    expect([recurring.status, recurring.body.error]).toEqual([
      400,
      { code: 'campaigns.invalid_ab', message: 'an A/B test runs once: not on a recurring schedule' },
    ]);
    await page.locator('.ant-radio-button-wrapper', { hasText: 'Now' }).click();
    await poll(() => create.isEnabled()).toBe(true);

    // What only the API knows: variant B's signature is deleted while the form is open.
    await pickVariantSignature(1, '鸿雁优选');
    const signatures = (await (await page.request.get('/v1/signatures')).json()) as {
      data: { id: string; name: string }[];
    };
    const doomed = signatures.data.find((s) => s.name === '鸿雁优选')!;
    const cookies = await page.context().cookies();
    const csrf = decodeURIComponent(cookies.find((c) => c.name === 'hy_csrf')?.value ?? '');
    const deleted = await page.request.delete(`/v1/signatures/${doomed.id}`, {
      headers: { 'x-csrf-token': csrf },
    });
    expect(deleted.status()).toBe(204);
    await create.click();
    const alert = page.locator('.ant-alert-error', { hasText: 'compliance.signature_not_approved' });
    // The dictionary's text for the code, the code, and the API's own words on what to correct.
    await poll(() => alert.textContent()).toBe(
      `${enUS['error.compliance.signature_not_approved']} (compliance.signature_not_approved): ` +
        '【鸿雁优选】 is not an approved signature of this tenant',
    );
    expect(page.url()).toMatch(/\/campaigns\/new$/);
    const list = (await (await page.request.get('/v1/campaigns')).json()) as { data: { name: string }[] };
    expect(list.data.map((c) => c.name)).toEqual(['Spring A/B']);
  }, 240_000);
});
