// The console's settings screens in a real browser (playwright-core driving the Debian Chromium)
// against a running Hongyan with the simulator, the console built and served as `hongyan start`
// does. Each value is changed through the page and read back through the API: a channel's
// circuit breaker (Operator › Channels), the compliance settings (Operator › Reviews › Settings),
// and a webhook endpoint's format (Developers), whose vendor formats take message.status only;
// and a signature's proof documents, added and deleted by the tenant and opened by the reviewer.
// A refused change shows the API's code and stores nothing. The operator works in 简体中文, the
// tenant in English, so both dictionaries are driven.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { newMember, newStaff } from '../src/modules/accounts/accounts.testkit.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import {
  type ConsoleRig,
  haveChromium,
  logInMember,
  logInStaff,
  openConsole,
  pickOption,
  poll,
  WAIT,
  startConsoleRig,
  warnIfNoChromium,
} from './helpers/console.ts';

warnIfNoChromium('console settings browser tests');

let rig: ConsoleRig;
let ops: Page;
let tenant: Page;
const member = { email: 'settings@console.test', password: 'correct horse battery' };
const staff = { username: 'settings-ops', password: 'staff password 1' };

/** A select of antd, by its test id. */
const pick = (page: Page, testId: string, option: string) => pickOption(page.getByTestId(testId), option);

/** Types values into a tags select, each confirmed with Enter. */
async function addTags(page: Page, testId: string, values: string[]) {
  const input = page.getByTestId(testId).locator('input');
  for (const v of values) {
    await input.fill(v);
    await input.press('Enter');
    await page.getByTestId(testId).locator('.ant-select-selection-item', { hasText: v }).waitFor();
  }
}

async function apiGet<T>(page: Page, path: string): Promise<T> {
  const res = await page.request.get(path);
  expect(res.status(), `${path}: ${await res.text()}`).toBe(200);
  return (await res.json()) as T;
}

beforeAll(async () => {
  if (!haveChromium) return;
  rig = await startConsoleRig({
    // The endpoints registered below point at this machine; nothing is delivered to them.
    HONGYAN_WEBHOOK_ALLOW_RANGES: '127.0.0.1/32',
  });
  const { db } = rig.t;
  const created = await createTenant({ name: 'settings', repository: createAccountsRepository(db.kysely) });
  await newMember(db, created.tenant.id, member.email, 'owner', member.password);
  await newStaff(db, staff.username, 'admin', staff.password);
  ops = await openConsole(rig);
  tenant = await openConsole(rig, { lang: 'en-US' });
}, 240_000);

afterAll(() => rig?.close());

interface Breaker {
  degrade_below: number;
  recover_above: number;
  probe_share: number;
  channel_specific_codes: string[];
  window: number;
  min_receipts: number;
}

describe.skipIf(!haveChromium)('the console settings screens in Chromium', () => {
  it("shows a channel's breaker state and thresholds, refuses a change without hysteresis with its code, and saves a good one", async () => {
    await logInStaff(ops, staff);

    const channels = await apiGet<{ data: { id: number; name: string }[] }>(ops, '/v1/operator/channels');
    const channel = channels.data.find((c) => c.name === 'simulator')!;
    expect(channel).toBeDefined();
    const url = `/v1/operator/channels/${channel.id}/breaker`;
    const before = await apiGet<Breaker>(ops, url);
    expect(before).toMatchObject({ degrade_below: 0.9, recover_above: 0.95, probe_share: 0.02 });

    await ops.goto('/operator/channels');
    await ops.getByTestId(`breaker-${channel.id}`).click();
    const dialog = ops.getByRole('dialog');
    await dialog.getByText(`熔断设置 — simulator`).waitFor();
    // The live state from the routing health, and the fixed rules with the API's figures.
    await dialog.getByTestId('breaker-state').getByText('正常').waitFor();
    await dialog.getByText('判定的最近终态条数').waitFor();
    await dialog
      .locator('.ant-descriptions-item-content', { hasText: String(before.window) })
      .first()
      .waitFor();
    await expect.poll(() => dialog.getByTestId('breaker-degrade').inputValue()).toBe('0.900');

    // Recovering below the degrade threshold would flap: the API refuses it, the dialog says why.
    await dialog.getByTestId('breaker-degrade').fill('0.85');
    await dialog.getByTestId('breaker-recover').fill('0.8');
    await dialog.getByTestId('breaker-save').click();
    const error = await dialog.getByTestId('breaker-error').textContent();
    expect(error).toContain('routing.invalid_breaker');
    expect(error).toContain('recover_above: at least degrade_below');
    expect(await apiGet<Breaker>(ops, url)).toMatchObject({ degrade_below: 0.9, recover_above: 0.95 });

    await dialog.getByTestId('breaker-recover').fill('0.97');
    await dialog.getByTestId('breaker-probe').fill('0.05');
    await addTags(ops, 'breaker-codes', ['smpp.ESME_RSUBMITFAIL', 'smpp.0x00000045']);
    await dialog.getByTestId('breaker-save').click();
    await dialog.getByTestId('breaker-saved').waitFor();
    expect(await apiGet<Breaker>(ops, url)).toMatchObject({
      degrade_below: 0.85,
      recover_above: 0.97,
      probe_share: 0.05,
      channel_specific_codes: ['smpp.ESME_RSUBMITFAIL', 'smpp.0x00000045'],
    });
    const audit = await apiGet<{ data: { action: string; target: string | null }[] }>(
      ops,
      '/v1/operator/audit?limit=50',
    );
    expect(audit.data.map((a) => [a.action, a.target])).toContainEqual([
      'channel.breaker_changed',
      `channel:${channel.id}`,
    ]);

    // Opened again, the dialog reads what is stored.
    await dialog.getByRole('button', { name: /关\s*闭/ }).click();
    await dialog.waitFor({ state: 'hidden' });
    await ops.getByTestId(`breaker-${channel.id}`).click();
    await expect.poll(() => ops.getByTestId('breaker-recover').inputValue()).toBe('0.970');
    await ops.getByRole('dialog').getByText('smpp.0x00000045').waitFor();
  }, 180_000);

  it('changes the compliance settings (name length, desk hours, days, targets, holidays, weekend days worked) on the Reviews page; a desk opening after its intake is refused', async () => {
    interface Settings {
      signature_name: { min: number; max: number };
      review: {
        time_zone: string;
        holidays: string[];
        workdays: string[];
        signature: { open: string; intake_until: string; holiday_target_minutes: number | null };
        template: { target_minutes: number; holiday_target_minutes: number | null };
        marketing: { days: number[]; intake_until: string; closed_on_holidays: boolean };
      };
    }
    const path = '/v1/operator/compliance/settings';
    await ops.goto('/operator/reviews');
    await ops.getByRole('tab', { name: '审核设置' }).click();
    await expect.poll(() => ops.getByTestId('signature-name-max').inputValue()).toBe('12');
    await expect.poll(() => ops.getByTestId('desk-marketing-intake_until').inputValue()).toBe('20:00');

    // A desk that opens after it stops taking work: the page sends it, the API says why.
    await ops.getByTestId('desk-signature-open').fill('21:00');
    await ops.getByTestId('settings-save').click();
    const error = await ops.getByTestId('settings-error').textContent();
    expect(error).toContain('compliance.invalid_settings');
    expect(error).toContain('review.signature: open < intake_until <= close');
    expect((await apiGet<Settings>(ops, path)).review.signature.open).toBe('09:00');

    await ops.getByTestId('desk-signature-open').fill('08:30');
    await ops.getByTestId('signature-name-max').fill('8');
    await ops.getByTestId('desk-template-target').fill('90');
    await ops.getByTestId('desk-marketing-intake_until').fill('21:00');
    await ops.getByTestId('desk-marketing-days').getByText('日', { exact: true }).click();
    await ops.getByTestId('desk-marketing-holidays').click();
    await addTags(ops, 'holidays', ['2026-10-02', '2026-10-01']);
    await addTags(ops, 'workdays', ['2026-10-10']);
    await expect.poll(() => ops.getByTestId('desk-signature-holiday-target').inputValue()).toBe('1440');
    await ops.getByTestId('desk-signature-holiday-target').fill('720');
    await ops.getByTestId('desk-template-holiday-target').clear();
    await ops.getByTestId('settings-save').click();
    await ops.getByTestId('settings-saved').waitFor();

    const after = await apiGet<Settings>(ops, path);
    expect(after.signature_name).toEqual({ min: 2, max: 8 });
    expect(after.review.time_zone).toBe('Asia/Shanghai');
    expect(after.review.holidays).toEqual(['2026-10-01', '2026-10-02']);
    expect(after.review.workdays).toEqual(['2026-10-10']);
    expect(after.review.signature.holiday_target_minutes).toBe(720);
    expect(after.review.template.holiday_target_minutes).toBeNull(); // emptied: waits for a working day
    expect(after.review.signature).toMatchObject({ open: '08:30', intake_until: '20:00' });
    expect(after.review.template.target_minutes).toBe(90);
    expect(after.review.marketing).toMatchObject({
      days: [1, 2, 3, 4, 5, 6],
      intake_until: '21:00',
      closed_on_holidays: true,
    });

    // A malformed time never leaves the page.
    await ops.getByTestId('desk-template-close').fill('8pm');
    await ops.getByTestId('settings-save').click();
    await ops.getByText('格式 HH:mm，如 09:00').waitFor();
    expect((await apiGet<Settings>(ops, path)).review.signature.open).toBe('08:30');
  }, 120_000);

  it('registers a webhook endpoint in a vendor format with message.status only, then changes its format', async () => {
    interface Endpoint {
      id: string;
      url: string;
      format: string;
      events: string[];
      enabled: boolean;
    }
    await logInMember(tenant, member);

    await tenant.goto('/developers');
    await tenant.getByTestId('webhook-url').fill('http://127.0.0.1:9/hooks/aliyun');
    const events = tenant.getByTestId('webhook-events');
    await events.getByText('Reply (message.reply)').click();
    await expect
      .poll(() => events.getByRole('checkbox', { name: 'Reply (message.reply)' }).isChecked())
      .toBe(true);

    // A vendor's format: the form says it takes status reports only and leaves only those.
    await pick(tenant, 'webhook-format', 'Aliyun (SmsReport)');
    await tenant
      .getByTestId('webhook-vendor-events')
      .getByText("A vendor's format carries status reports only")
      .waitFor();
    const reply = events.getByRole('checkbox', { name: 'Reply (message.reply)' });
    expect([await reply.isChecked(), await reply.isDisabled()]).toEqual([false, true]);
    expect(await events.getByRole('checkbox', { name: 'Status report (message.status)' }).isChecked()).toBe(
      true,
    );
    await tenant.getByTestId('webhook-create').click();
    await tenant.getByTestId('webhook-secret').waitFor();

    const list = await apiGet<{ data: Endpoint[] }>(tenant, '/v1/webhooks/endpoints');
    expect(list.data).toHaveLength(1);
    const endpoint = list.data[0]!;
    expect(endpoint).toMatchObject({
      url: 'http://127.0.0.1:9/hooks/aliyun',
      format: 'aliyun',
      events: ['message.status'],
      enabled: true,
    });
    const row = tenant.locator('tr', { hasText: 'http://127.0.0.1:9/hooks/aliyun' });
    await row.getByText('Aliyun (SmsReport)').waitFor();

    // Back to Hongyan's envelope, which may take other events too.
    await tenant.getByTestId(`webhook-edit-${endpoint.id}`).click();
    const dialog = tenant.getByRole('dialog');
    await pick(tenant, 'webhook-edit-format', 'Hongyan (events envelope, default)');
    await dialog.getByText('Opt-out added (optout.added)').click();
    await dialog.getByTestId('webhook-edit-save').click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await apiGet<Endpoint>(tenant, `/v1/webhooks/endpoints/${endpoint.id}`)).toMatchObject({
      format: 'hongyan',
      events: expect.arrayContaining(['message.status', 'optout.added']),
    });
    await row.getByText('Hongyan (events envelope, default)').waitFor();

    // And to Tencent's: the other events are dropped by the form before the API would refuse them.
    await tenant.getByTestId(`webhook-edit-${endpoint.id}`).click();
    await pick(tenant, 'webhook-edit-format', 'Tencent Cloud (status callback)');
    await dialog.getByTestId('webhook-edit-vendor-events').waitFor();
    await dialog.getByTestId('webhook-edit-save').click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await apiGet<Endpoint>(tenant, `/v1/webhooks/endpoints/${endpoint.id}`)).toMatchObject({
      format: 'tencent',
      events: ['message.status'],
    });
  }, 120_000);
  it("adds a signature's proof documents, deletes a wrong one, and the reviewer opens them from the queue", async () => {
    await logInMember(tenant, member);
    const csrf = decodeURIComponent(
      (await tenant.context().cookies()).find((c) => c.name === 'hy_csrf')?.value ?? '',
    );
    const applied = await tenant.request.post('/v1/signatures', {
      data: { name: '证明材料', source: 'trademark' },
      headers: { 'x-csrf-token': csrf },
    });
    expect(applied.status(), await applied.text()).toBe(201);
    const id = ((await applied.json()) as { id: string }).id;
    const docs = async () =>
      (await apiGet<{ documents: { id: string; content_type: string }[] }>(tenant, `/v1/signatures/${id}`))
        .documents;

    await tenant.goto('/signatures');
    const picker = tenant.getByTestId(`document-upload-${id}`).locator('input[type=file]');
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.alloc(64, 1),
    ]);
    await picker.setInputFiles({ name: 'wrong.png', mimeType: 'image/png', buffer: png });
    await poll(async () => (await docs()).length).toBe(1);
    const wrong = (await docs())[0]!;
    await tenant.getByTestId(`document-${wrong.id}`).waitFor();
    // A file that is no PDF, JPEG or PNG: the API's code is shown, nothing stored.
    await picker.setInputFiles({
      name: 'notes.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from('<html>'),
    });
    expect(await tenant.getByTestId('document-error').textContent()).toContain('signatures.document_type');
    expect(await docs()).toHaveLength(1);

    await tenant.getByTestId(`document-delete-${wrong.id}`).click();
    await tenant.getByRole('button', { name: 'Remove' }).last().click();
    await poll(async () => (await docs()).length).toBe(0);
    // The page has shown it gone (its list fetched again) before the next file is picked.
    await tenant.getByTestId(`document-${wrong.id}`).waitFor({ state: 'detached', timeout: WAIT });
    const pdf = Buffer.from('%PDF-1.7\ntrademark certificate\n');
    await picker.setInputFiles({ name: 'licence.pdf', mimeType: 'application/pdf', buffer: pdf });
    await poll(async () => {
      // What the page shows if the upload was refused: the API's code, in the assertion's message.
      const shown = await tenant
        .getByTestId('document-error')
        .textContent({ timeout: 10 })
        .catch(() => null);
      return { types: (await docs()).map((d) => d.content_type), shown };
    }).toMatchObject({ types: ['application/pdf'] });
    const kept = (await docs())[0]!;

    // The reviewer sees it on the signature in the queue and opens it.
    await logInStaff(ops, staff);
    await ops.goto('/operator/reviews');
    await ops.getByRole('tab', { name: '签名' }).click();
    const link = ops.getByTestId(`document-${kept.id}`);
    await link.waitFor();
    expect(await link.textContent()).toContain('PDF');
    const href = (await link.getAttribute('href'))!;
    expect(href).toBe(`/v1/operator/signatures/${id}/documents/${kept.id}`);
    const opened = await ops.request.get(href);
    expect(opened.status()).toBe(200);
    expect(Buffer.from(await opened.body()).equals(pdf)).toBe(true);
    // No delete there: the reviewer reads, the tenant owns.
    expect(await ops.getByTestId(`document-delete-${kept.id}`).count()).toBe(0);
  }, 120_000);
});
