// The content rules engine, in process, no database:
//   1. the banned-word matcher (normalisation + Aho–Corasick) with 20,000 words scanning typical
//      messages, in MB/s of UTF-8 text (issue 8 asks ≥ 50 MB/s);
//   2. evaluateContent over 10,000 typical rendered messages (verification, notification,
//      marketing) against the default sets plus those 20,000 words: total ms;
//   3. compile time of 20,000 and 100,000 words (what a rule-set change costs each node).
//
//   npm run bench -- --compliance
//   npx tsx bench/compliance.ts
//
// Words and texts come from a seeded generator over the same ~3,000 common characters, so most
// characters of a text are in the automaton's alphabet and many partial matches start: a harder
// case than real text, where many characters appear in no banned word. Each figure is the
// median of BENCH_ROUNDS (default 5) runs after a warm-up. The matcher's rate is printed per wall
// second and per CPU second of this process: on a shared machine the second is the steadier one.
import { pathToFileURL } from 'node:url';
import { buildAutomaton } from '../src/modules/compliance/rules/aho-corasick.ts';
import { DEFAULT_RULE_SETS } from '../src/modules/compliance/rules/default-rules.ts';
import {
  normalizeText,
  normalizeWord,
  type NormalizedText,
} from '../src/modules/compliance/rules/normalize.ts';
import {
  compileRules,
  evaluateContent,
  type MessageType,
  type RuleSetData,
} from '../src/modules/compliance/rules/rules.models.ts';

function generator(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

const COMMON = (() => {
  // CJK Unified Ideographs from the start of the block, where the common characters cluster.
  const chars: string[] = [];
  for (let c = 0x4e00; chars.length < 3000; c += 3) chars.push(String.fromCharCode(c));
  return chars;
})();

function words(count: number, random: () => number): string[] {
  const out = new Set<string>();
  while (out.size < count) {
    const length = 2 + Math.floor(random() * 3);
    let w = '';
    for (let i = 0; i < length; i++) w += COMMON[Math.floor(random() * COMMON.length)]!;
    out.add(w);
  }
  return [...out];
}

function filler(length: number, random: () => number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += COMMON[Math.floor(random() * COMMON.length)]!;
  return s;
}

function messages(count: number, random: () => number): { content: string; type: MessageType }[] {
  const out: { content: string; type: MessageType }[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 3;
    if (kind === 0) {
      const code = String(Math.floor(random() * 1_000_000)).padStart(6, '0');
      out.push({
        content: `【鸿雁】您的验证码是${code}，5分钟内有效，请勿泄露给他人。`,
        type: 'verification',
      });
    } else if (kind === 1) {
      out.push({
        content: `【鸿雁】尊敬的${filler(3, random)}，您的订单${Math.floor(random() * 1e9)}已发货，${filler(20, random)}，如有疑问请致电客服。`,
        type: 'notification',
      });
    } else {
      out.push({
        content: `【鸿雁】${filler(40, random)}，周末全场八折，会员再享九五折！${filler(15, random)} 回T退订`,
        type: 'marketing',
      });
    }
  }
  return out;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function runComplianceBench({ rounds = Number(process.env.BENCH_ROUNDS ?? 5) } = {}) {
  const random = generator(8);
  const banned = words(20_000, random);
  const corpus = messages(10_000, random);
  const corpusBytes = corpus.reduce((n, m) => n + Buffer.byteLength(m.content), 0);
  console.log(
    `corpus: ${corpus.length.toLocaleString('en')} messages, ${(corpusBytes / 1e6).toFixed(2)} MB UTF-8, ` +
      `${Math.round(corpusBytes / corpus.length)} bytes each on average`,
  );

  // 1. The matcher alone: normalise each message and scan it, until ≥ 50 MB have been scanned.
  const automaton = buildAutomaton(banned.map(normalizeWord));
  let scratch: NormalizedText | undefined;
  let matches = 0;
  const onMatch = () => {
    matches++;
  };
  const passes = Math.ceil(50e6 / corpusBytes);
  const scanRates: number[] = [];
  const cpuRates: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let p = 0; p < passes; p++) {
      for (const m of corpus) {
        scratch = normalizeText(m.content, scratch);
        automaton.scan(scratch.units, scratch.length, onMatch);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    if (round === 0) continue; // warm-up
    scanRates.push((passes * corpusBytes) / 1e6 / seconds);
    cpuRates.push((passes * corpusBytes) / 1e6 / ((used.user + used.system) / 1e6));
  }
  console.log(
    `matcher, 20,000 words: ${median(scanRates).toFixed(1)} MB/s wall, ${median(cpuRates).toFixed(1)} MB/s per CPU ` +
      `second, medians of ${rounds} (wall ${scanRates.map((r) => r.toFixed(1)).join(', ')}; ` +
      `${((passes * corpusBytes) / 1e6).toFixed(0)} MB a run, ${(matches / (rounds + 1) / passes).toFixed(0)} matches a pass)`,
  );

  // 2. The whole engine on 10,000 rendered messages.
  const sets: RuleSetData[] = DEFAULT_RULE_SETS.map((s) =>
    s.id === 'banned_words' ? { ...s, words: [...s.words, ...banned] } : s,
  );
  const rules = compileRules(sets);
  const evalTimes: number[] = [];
  const evalCpu: number[] = [];
  let blocked = 0;
  for (let round = 0; round <= rounds; round++) {
    blocked = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (const m of corpus) {
      const input = { content: m.content, type: m.type, subject: 'message' as const, maxParts: 4 };
      if (evaluateContent(input, rules).blocked) blocked++;
    }
    const used = process.cpuUsage(cpu);
    if (round === 0) continue; // warm-up
    evalTimes.push(performance.now() - started);
    evalCpu.push((used.user + used.system) / 1000);
  }
  console.log(
    `evaluateContent, 10,000 messages, all default sets + 20,000 words: ${median(evalTimes).toFixed(1)} ms wall, ` +
      `${median(evalCpu).toFixed(1)} ms CPU, medians (wall ${evalTimes.map((t) => t.toFixed(1)).join(', ')}; ` +
      `${blocked} blocked by the random words)`,
  );

  // 3. Compiling, as each node does after a change.
  for (const count of [20_000, 100_000]) {
    const list = count === banned.length ? banned : words(count, generator(count));
    const started = performance.now();
    compileRules(DEFAULT_RULE_SETS.map((s) => (s.id === 'banned_words' ? { ...s, words: list } : s)));
    console.log(
      `compileRules with ${count.toLocaleString('en')} words: ${(performance.now() - started).toFixed(0)} ms`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runComplianceBench();
}
