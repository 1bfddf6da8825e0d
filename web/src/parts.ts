// Live part count: GSM 7-bit text is 160 characters in one part and 153 per part when split;
// anything else is UCS-2, 70 and 67. The 【signature】 makes a text UCS-2.
const GSM7 =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXT = '^{}\\[~]|€';

export function countParts(text: string): { encoding: 'gsm7' | 'ucs2'; length: number; parts: number } {
  let gsmLength = 0;
  let gsm = true;
  for (const ch of text) {
    if (GSM7.includes(ch)) gsmLength += 1;
    else if (GSM7_EXT.includes(ch)) gsmLength += 2;
    else gsm = false;
  }
  if (gsm)
    return { encoding: 'gsm7', length: gsmLength, parts: gsmLength <= 160 ? 1 : Math.ceil(gsmLength / 153) };
  // UCS-2 counts UTF-16 code units.
  const length = text.length;
  return { encoding: 'ucs2', length, parts: length <= 70 ? 1 : Math.ceil(length / 67) };
}

/** Numbers pasted one per line, or separated by commas or spaces; duplicates kept once. */
export function parseRecipients(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\s,;，；]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}
