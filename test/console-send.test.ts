// The console's Send and Records pages in Chromium against a running Hongyan with the simulator
// (numbers ending in 99 come back UNDELIV, err 001): a file without a valid row refused with its
// rows' reasons; a CSV imported with a progress bar, its refused rows shown with their reasons, sent as one batch with a template whose variable comes
// from the file; a marketing batch's review notice, before sending (the API's forecast from the
// review calendar) and after (the time the API expects the review by);
// Records filtered by template, a message's timeline (with its receipt code) opened from the
// keyboard, and the XLSX export of the same filter.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
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

warnIfNoChromium('console send and records tests');

let rig: ConsoleRig;
let page: Page;
let templateId: string;
let fileBatchId: string;
const member = { email: 'owner@send.test', password: 'correct horse battery' };

interface Message {
  id: string;
  to: string;
  content: string;
  status: string;
}
const api = async <T>(p: string) => {
  const res = await page.request.get(p);
  expect(res.status(), await res.text()).toBe(200);
  return (await res.json()) as T;
};

beforeAll(async () => {
  if (!haveChromium) return;
  const dir = mkdtempSync(path.join(tmpdir(), 'hy-console-send-'));
  const profile = path.join(dir, 'simulator.json');
  writeFileSync(profile, JSON.stringify({ profiles: [{ name: 'default', undeliveredSuffixes: ['99'] }] }));
  rig = await startConsoleRig({ HONGYAN_SIMULATOR_PROFILE: profile });
  const { db } = rig.t;
  const created = await newSendingTenant(db, 'send-console');
  await newMember(db, created.tenant.id, member.email, 'owner', member.password);
  const template = await createApprovedTemplate({
    db: db.pool,
    tenantId: created.tenant.id,
    input: { name: '开业通知', type: 'notification', content: '{city}门店开业，欢迎光临', variables: [] },
  });
  templateId = String(template.id);
  page = await openConsole(rig);
  await logInMember(page, member);
}, 240_000);

afterAll(() => rig?.close());

describe.skipIf(!haveChromium)('Send and Records in Chromium', () => {
  it('imports a CSV with a progress bar, shows its refused rows, and sends it with a template', async () => {
    await page.goto('/send');
    await page.locator('.ant-radio-button-wrapper', { hasText: '导入文件' }).click();
    // A file with no valid row is refused whole; its rows are listed with their reasons all the same.
    await page.getByTestId('recipients-file').setInputFiles({
      name: 'bad.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('phone\r\n12345\r\nabc\r\n'),
    });
    await page.getByText('campaigns.audience_empty').waitFor();
    await page
      .getByTestId('file-refused')
      .locator('tr', { hasText: 'abc' })
      .getByText('不是有效号码')
      .waitFor();
    expect(await page.getByTestId('send-button').isDisabled()).toBe(true);
    const csv = [
      'phone,city',
      '13800138001,北京',
      '13800138002,上海',
      '12345,广州',
      '13800138001,深圳',
      '13800138099,杭州',
    ].join('\r\n');
    await page.getByTestId('recipients-file').setInputFiles({
      name: 'stores.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv),
    });
    await page.getByTestId('file-progress').getByText('100%').waitFor();
    await poll(() => page.getByTestId('file-recipients').textContent()).toBe('3');
    const refused = page.getByTestId('file-refused');
    await refused.locator('tr', { hasText: '12345' }).getByText('号码太短 (phone.too_short)').waitFor();
    await refused.locator('tr', { hasText: '13800138001' }).getByText('重复（与第 2 行相同）').waitFor();
    expect(await page.getByTestId('recipient-count').textContent()).toBe('3');

    await page.locator('.ant-radio-button-wrapper', { hasText: '模板' }).click();
    await pickOption(page.getByTestId('template-select'), '开业通知');
    // The file's city column fills the variable; the field's own value only fills a row without it.
    await page.getByText('文件中有此列').waitFor();
    await page.getByTestId('send-button').click();
    const result = (await page.getByTestId('send-result').textContent()) ?? '';
    fileBatchId = /批次 (\d+)/.exec(result)?.[1] ?? '';
    expect(fileBatchId, `send result: ${result}`).not.toBe('');
    expect(result).toContain('接受 3 条');

    const sent = await api<{ data: Message[] }>(`/v1/messages?batch_id=${fileBatchId}`);
    expect(sent.data.map((m) => `${m.to} ${m.content}`).sort()).toEqual([
      '+8613800138001 【鸿雁】北京门店开业，欢迎光临',
      '+8613800138002 【鸿雁】上海门店开业，欢迎光临',
      '+8613800138099 【鸿雁】杭州门店开业，欢迎光临',
    ]);
  }, 120_000);

  it("shows a marketing batch's review notice with the time the API expects the review by", async () => {
    await page.goto('/send');
    await page.getByTestId('recipients').fill('13800138011\n13800138012');
    await pickOption(page.locator('.ant-form-item', { hasText: /^类型/ }), '营销');
    await page.getByTestId('content').fill('新品上市，全场八折，回T退订');
    // Before sending: the API's forecast from the marketing desk's hours (seed 002: 9:00–23:00
    // Beijing time, what arrives after 20:00 from 9:00 the next day).
    const forecast = page.getByTestId('review-forecast');
    await forecast.getByText('09:00–23:00，Asia/Shanghai；20:00 后提交的').waitFor();
    const { expected_by } = await api<{ expected_by: string }>('/v1/batches/review-forecast');
    const minute = (ms: number) =>
      page.evaluate(
        (at) =>
          new Date(at).toLocaleString('zh-CN', {
            year: 'numeric',
            month: '2-digit',
            day: '2-digit',
            hour: '2-digit',
            minute: '2-digit',
          }),
        ms,
      );
    const at = new Date(expected_by).getTime();
    // The page asked a moment before this test did: the same minute, or the one before.
    const text = (await forecast.textContent()) ?? '';
    expect(
      [await minute(at), await minute(at - 60_000)].some((m) => text.includes(`预计 ${m} 前完成审核`)),
    ).toBe(true);
    await page.getByTestId('send-button').click();
    const result = (await page.getByTestId('send-result').textContent()) ?? '';
    const batchId = /批次 (\d+)/.exec(result)?.[1];
    expect(batchId, `send result: ${result}`).toBeTruthy();
    const batch = await api<{ review: { status: string; expected_by: string } | null }>(
      `/v1/batches/${batchId}`,
    );
    expect(batch.review?.status).toBe('pending');
    const shown = await page.evaluate(
      (at) => new Date(at).toLocaleString('zh-CN'),
      batch.review!.expected_by,
    );
    expect(await page.getByTestId('review-notice').textContent()).toContain(`预计 ${shown} 前完成审核`);
  }, 120_000);

  it('filters Records by template, opens a timeline with its receipt code from the keyboard, exports XLSX', async () => {
    // The simulator's receipt for the number ending in 99 arrives within a second or so.
    await poll(async () => {
      const list = await api<{ data: Message[] }>(`/v1/messages?batch_id=${fileBatchId}`);
      return list.data.find((m) => m.to.endsWith('99'))?.status;
    }).toBe('undelivered');
    const list = await api<{ data: Message[] }>(`/v1/messages?template_id=${templateId}`);
    const ids = list.data.map((m) => m.id);
    expect(ids).toHaveLength(3);
    const failedId = list.data.find((m) => m.to.endsWith('99'))!.id;

    await page.goto('/records');
    await pickOption(page.getByTestId('template-filter'), '开业通知');
    await page.getByRole('button', { name: /查\s*询/ }).click();
    // Only the template's three messages, not the marketing batch's.
    await poll(() => page.locator('.ant-table-tbody tr[data-row-key]').count()).toBe(3);
    for (const id of ids) await page.getByTestId(`open-${id}`).waitFor();

    await page.getByTestId(`open-${failedId}`).focus();
    await page.keyboard.press('Enter');
    const timeline = page.getByTestId('timeline');
    await timeline.getByText('未送达').waitFor();
    expect(await timeline.getByTestId('timeline-code').textContent()).toBe('carrier.UNDELIV.001');
    await page.keyboard.press('Escape');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('export-xlsx').click(),
    ]);
    expect(download.suggestedFilename()).toBe('messages.xlsx');
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(readFileSync((await download.path())!) as unknown as ArrayBuffer);
    const exported: string[] = [];
    workbook.worksheets[0]!.eachRow((row, n) => {
      if (n > 1) exported.push(String(row.getCell(1).value));
    });
    expect(exported.sort()).toEqual([...ids].sort());
  }, 120_000);
});
