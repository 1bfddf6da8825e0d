// An A/B variant's own template in the campaign form, in a real browser (playwright-core driving
// the Debian Chromium) against a running Hongyan serving the console (test/helpers/console.ts).
// Picking the template shows its variables as fields. The API has no params per variant: a
// variant's template is filled from the campaign's `params` (then each recipient's fields), so the
// form sends the values there. Read back through GET /v1/campaigns/{id}, and in the messages the
// variant sent; a variable the main template also names is one field value for both.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMember } from '../src/modules/accounts/accounts.testkit.ts';
import { createApprovedTemplate } from '../src/modules/compliance/templates/templates.usecases.ts';
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

warnIfNoChromium('console A/B variant template browser tests');

const NUMBERS = ['13800138501', '13800138502', '13800138503', '13800138504'];

let rig: ConsoleRig;
let page: Page;
let anniversary: string;
let launch: string;
const member = { email: 'abparams@console.test', password: 'correct horse battery' };

/** A campaign's name, pasted numbers and signature. */
async function fillBasics(name: string) {
  await page.goto('/campaigns/new');
  await page.getByTestId('campaign-name').fill(name);
  await page
    .locator('.ant-form-item', { hasText: 'Extra pasted numbers' })
    .locator('textarea')
    .fill(NUMBERS.join('\n'));
  await pickOption(page.getByTestId('campaign-signature'), '【鸿雁】');
}

async function enableAb() {
  await page.getByTestId('ab-enable').check();
  await page.getByTestId('ab-section').waitFor();
  await page.getByTestId('ab-content-1').fill('Text B');
}

/** Variant 0 takes its own template. */
async function variantTemplate(name: string) {
  await page
    .getByTestId('ab-override-0')
    .locator('.ant-radio-button-wrapper', { hasText: 'Own template' })
    .click();
  await pickOption(page.getByTestId('ab-template-0'), name);
}

async function createAndRead() {
  const create = page.getByTestId('campaign-create');
  await poll(() => create.isEnabled()).toBe(true);
  await create.click();
  await page.waitForURL(/\/campaigns\/\d+$/);
  const id = /\/campaigns\/(\d+)$/.exec(page.url())![1]!;
  return (await (await page.request.get(`/v1/campaigns/${id}`)).json()) as {
    content: { content?: string; template_id?: string; params?: Record<string, string> };
    ab: { variants: unknown[] };
  };
}

beforeAll(async () => {
  if (!haveChromium) return;
  rig = await startConsoleRig();
  const { db } = rig.t;
  const tenantId = (await newSendingTenant(db, 'abparams')).tenant.id;
  const template = (name: string, content: string) =>
    createApprovedTemplate({ db: db.pool, tenantId, input: { name, type: 'notification', content } });
  anniversary = String((await template('anniversary', '{shop}周年庆，会员专享{discount}折')).id);
  launch = String((await template('launch', '{shop}新品上市')).id);
  await newMember(db, tenantId, member.email, 'owner', member.password);
  page = await openConsole(rig, { lang: 'en-US', viewport: { width: 1280, height: 1000 } });
  await logInMember(page, member);
}, 240_000);

afterAll(() => rig?.close());

describe.skipIf(!haveChromium)("an A/B variant's own template in the campaign form", () => {
  it("shows the template's variables and sends them as the campaign's params, which fill the variant", async () => {
    await fillBasics('Anniversary A/B');
    await page.getByTestId('campaign-content').fill('Main text');
    await enableAb();
    expect(await page.getByTestId('ab-params-0').count()).toBe(0);
    await variantTemplate('anniversary');
    const labels = page.getByTestId('ab-params-0').locator('.ant-form-item-label');
    await poll(() => labels.allTextContents()).toEqual(['shop', 'discount']);
    await page.getByTestId('ab-param-0-shop').fill('旗舰店');
    await page.getByTestId('ab-param-0-discount').fill('8');
    await page.getByTestId('ab-share').fill('100');
    await page.getByTestId('ab-share').blur();

    const campaign = await createAndRead();
    // The main content stays free text; the values are the campaign's params.
    expect(campaign.content).toMatchObject({
      content: 'Main text',
      params: { shop: '旗舰店', discount: '8' },
    });
    expect(campaign.content.template_id).toBeUndefined();
    expect(campaign.ab.variants).toEqual([
      { name: 'A', template_id: anniversary },
      { name: 'B', content: 'Text B' },
    ]);
    // The whole audience is in the test: variant A's half gets its template filled by those params.
    const texts = async () => {
      const res = await page.request.get('/v1/messages?limit=50');
      const body = (await res.json()) as { data: { content: string }[] };
      return body.data.map((m) => m.content).sort();
    };
    await poll(texts).toEqual([
      '【鸿雁】Text B',
      '【鸿雁】Text B',
      '【鸿雁】旗舰店周年庆，会员专享8折',
      '【鸿雁】旗舰店周年庆，会员专享8折',
    ]);
  }, 240_000);

  it('gives a variable the main template also names one value, said under the field', async () => {
    await fillBasics('Launch A/B');
    await page.locator('.ant-radio-button-wrapper', { hasText: 'Template' }).first().click();
    const mainTemplate = page
      .locator('.ant-form-item', { has: page.locator('.ant-form-item-label', { hasText: /^Template$/ }) })
      .first();
    await pickOption(mainTemplate, 'launch');
    const mainShop = page
      .locator('.ant-form-item', { has: page.locator('.ant-form-item-label', { hasText: /^shop$/ }) })
      .first()
      .locator('input');
    await mainShop.fill('南京路店');
    await enableAb();
    await variantTemplate('anniversary');
    // The variant's shop is the main template's: the value typed there, and a note saying so.
    await poll(() => page.getByTestId('ab-param-0-shop').inputValue()).toBe('南京路店');
    const shopItem = page.locator('.ant-form-item', { has: page.getByTestId('ab-param-0-shop') });
    expect(await shopItem.locator('.ant-form-item-explain').textContent()).toBe(
      "One value with the same variable of the campaign's other templates, for each recipient without a value of this name (a recipient's own non-empty field takes its place)",
    );
    const discountItem = page.locator('.ant-form-item', { has: page.getByTestId('ab-param-0-discount') });
    expect(await discountItem.locator('.ant-form-item-explain').textContent()).toBe(
      "For each recipient without a value of this name; a recipient's own non-empty field takes its place. Empty: the recipients' fields only",
    );
    await page.getByTestId('ab-param-0-shop').fill('淮海路店');
    expect(await mainShop.inputValue()).toBe('淮海路店');
    await page.getByTestId('ab-param-0-discount').fill('9');

    const campaign = await createAndRead();
    expect(campaign.content).toMatchObject({
      template_id: launch,
      params: { shop: '淮海路店', discount: '9' },
    });
    expect(campaign.ab.variants).toEqual([
      { name: 'A', template_id: anniversary },
      { name: 'B', content: 'Text B' },
    ]);
  }, 240_000);
});
