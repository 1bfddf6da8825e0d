// The console's language outside React: what plain functions (dates and error texts in tables,
// alerts and messages) read, and dayjs's locale, so antd's date pickers name months and weekdays
// in it. I18nProvider sets it on start and on every switch.
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn.js';
import { enUS } from './en-US.ts';
import { zhCN } from './zh-CN.ts';

export type Lang = 'zh-CN' | 'en-US';
export type MessageKey = keyof typeof zhCN;
export const dictionaries: Record<Lang, Record<MessageKey, string>> = { 'zh-CN': zhCN, 'en-US': enUS };

let current: Lang = 'zh-CN';

export function currentLang(): Lang {
  return current;
}

export function applyLang(lang: Lang): void {
  current = lang;
  dayjs.locale(lang === 'zh-CN' ? 'zh-cn' : 'en');
  if (typeof document !== 'undefined') document.documentElement.lang = lang;
}

/** The current language's text for a key the dictionaries may not have (an error or finding code). */
export function lookup(key: string): string | undefined {
  const dict = dictionaries[current];
  return Object.hasOwn(dict, key) ? dict[key as MessageKey] : undefined;
}

/** A timestamp as the console's language writes it (2026/11/30 11:48:00, 11/30/2026, 11:48:00 AM). */
export function formatDateTime(value: string | number | Date): string {
  return new Date(value).toLocaleString(current);
}
