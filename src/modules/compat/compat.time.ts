// Dates as the Chinese vendors write them: China Standard Time (UTC+8, no daylight saving).
const CST_MS = 8 * 3600 * 1000;

/** `20261130` as the start of that day in China Standard Time; null when it is not a date. */
export function cstDayStart(yyyymmdd: string | undefined): Date | null {
  if (yyyymmdd === undefined || !/^\d{8}$/.test(yyyymmdd)) return null;
  const iso = `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}T00:00:00+08:00`;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return null;
  const back = new Date(t + CST_MS).toISOString().slice(0, 10).replace(/-/g, '');
  return back === yyyymmdd ? new Date(t) : null;
}

export function addDays(d: Date, days: number): Date {
  return new Date(d.getTime() + days * 86_400_000);
}

/** `2026-11-30 18:45:09` in China Standard Time (Aliyun's SendDate, ReceiveDate, CreateDate). */
export function cstDateTime(d: Date | null): string | null {
  return d === null ? null : new Date(d.getTime() + CST_MS).toISOString().slice(0, 19).replace('T', ' ');
}
