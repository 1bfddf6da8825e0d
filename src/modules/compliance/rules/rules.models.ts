// The content rules engine (issue 8): a pure function from a text, its message type and the
// operator's rule sets to a verdict listing each finding's rule, severity and span in the original
// text. No I/O: the sets come from rules.provider.ts, compiled once.
//
// Word rules (banned words, prohibited industries, contact diversion, absolute claims, opt-out
// phrases) share one Aho–Corasick automaton over normalised text (normalize.ts), so a message is
// scanned once whatever the number of sets and words. Structural rules (a second 【signature】, a
// template without a theme, too many parts) read the text directly.
import { planSegments } from '../../../smpp/segments.ts';
import { buildAutomaton, type Automaton } from './aho-corasick.ts';
import {
  characterEnd,
  isDigitAt,
  isLatinLetterAt,
  normalizeText,
  normalizeWord,
  type NormalizedText,
} from './normalize.ts';

export { verdictError } from './rules.errors.ts';

export type Severity = 'block' | 'warn';
export type MessageType = 'verification' | 'notification' | 'marketing';
export type Subject = 'template' | 'message';

export const RULE_KINDS = [
  'banned_word',
  'prohibited_industry',
  'contact_diversion',
  'double_signature',
  'themeless_template',
  'absolute_claim',
  'missing_opt_out',
  'too_long',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
export const MESSAGE_TYPES: readonly MessageType[] = ['verification', 'notification', 'marketing'];
export const SUBJECTS: readonly Subject[] = ['template', 'message'];

/** Kinds whose sets hold words (or phrases); the others ignore `words`. */
export const WORD_KINDS: readonly RuleKind[] = [
  'banned_word',
  'prohibited_industry',
  'contact_diversion',
  'absolute_claim',
  'missing_opt_out',
  'themeless_template',
];

export interface Finding {
  /** The rule kind, also the suffix of the error code: compliance.<rule>. */
  rule: string;
  severity: Severity;
  /** Span in the original content, UTF-16 indices, end exclusive. */
  start: number;
  end: number;
  text: string;
  message: string;
}

export interface Verdict {
  /** Some finding is 'block'. */
  blocked: boolean;
  findings: Finding[];
}

export interface EvaluateInput {
  /** The full text as it will be sent (signature included). */
  content: string;
  type: MessageType;
  /** Checking a template at submission, or a message's text. */
  subject: Subject;
  /** Tenant/operator limit of parts; omitted: no part check. */
  maxParts?: number;
}

/** One rule set as the operator edits it (and as rules.provider.ts reads it from the database). */
export interface RuleSetData {
  id: string;
  name: string;
  kind: RuleKind;
  severity: Severity;
  enabled: boolean;
  types: readonly MessageType[];
  subjects: readonly Subject[];
  words: readonly string[];
  version?: number;
}

interface CompiledSet {
  id: string;
  kind: RuleKind;
  severity: Severity;
  enabled: boolean;
  types: ReadonlySet<MessageType>;
  subjects: ReadonlySet<Subject>;
  /** themeless_template: its greetings, normalised, longest first. */
  greetings: string[];
}

/** Which edges of a pattern need a word boundary in the original text. */
const START_LETTER = 1;
const START_DIGIT = 2;
const END_LETTER = 4;
const END_DIGIT = 8;

/** Compiled rule sets; build with compileRules, pass to evaluateContent. Treat as opaque. */
export interface CompiledRules {
  readonly sets: readonly CompiledSet[];
  readonly automaton: Automaton;
  /** For each automaton pattern, the sets (index into `sets`) that hold it and the word as entered. */
  readonly owners: readonly (readonly { set: number; word: string }[])[];
  readonly edges: Uint8Array;
  /** What applies to each (type, subject), decided at compile time: index planIndex(type, subject). */
  readonly plans: readonly Plan[];
}

interface Plan {
  /** applies[i]: set i is on and covers this type and subject. */
  applies: Uint8Array;
  /** Some word set applies: the text is scanned. */
  scan: boolean;
  optOut: number[];
  structural: number[];
}

const TYPE_INDEX: Record<MessageType, number> = { verification: 0, notification: 1, marketing: 2 };
const planIndex = (type: MessageType, subject: Subject) =>
  TYPE_INDEX[type] * 2 + (subject === 'template' ? 0 : 1);

function plan(sets: readonly CompiledSet[], type: MessageType, subject: Subject): Plan {
  const applies = new Uint8Array(sets.length);
  const result: Plan = { applies, scan: false, optOut: [], structural: [] };
  sets.forEach((s, i) => {
    if (!(s.enabled && s.types.has(type) && s.subjects.has(subject))) return;
    applies[i] = 1;
    if (MATCHED_KINDS.has(s.kind)) result.scan = true;
    if (s.kind === 'missing_opt_out') result.optOut.push(i);
    if (s.kind === 'double_signature' || s.kind === 'themeless_template' || s.kind === 'too_long')
      result.structural.push(i);
  });
  return result;
}

const MATCHED_KINDS = new Set<RuleKind>([
  'banned_word',
  'prohibited_industry',
  'contact_diversion',
  'absolute_claim',
  'missing_opt_out',
]);

export function compileRules(sets: readonly RuleSetData[]): CompiledRules {
  const compiled: CompiledSet[] = [];
  const byPattern = new Map<string, { set: number; word: string }[]>();
  sets.forEach((s, index) => {
    const greetings: string[] = [];
    for (const word of s.words) {
      const pattern = normalizeWord(word);
      if (!pattern) continue;
      if (s.kind === 'themeless_template') greetings.push(pattern);
      else if (MATCHED_KINDS.has(s.kind)) {
        const list = byPattern.get(pattern);
        if (list) list.push({ set: index, word });
        else byPattern.set(pattern, [{ set: index, word }]);
      }
    }
    compiled.push({
      id: s.id,
      kind: s.kind,
      severity: s.severity,
      enabled: s.enabled,
      types: new Set(s.types),
      subjects: new Set(s.subjects),
      greetings: [...new Set(greetings)].sort((a, b) => b.length - a.length),
    });
  });
  const automaton = buildAutomaton([...byPattern.keys()]);
  const owners = automaton.patterns.map((p) => byPattern.get(p)!);
  const edges = new Uint8Array(automaton.patterns.length);
  automaton.patterns.forEach((p, i) => {
    edges[i] =
      (isLatinLetterAt(p, 0) ? START_LETTER : 0) |
      (isDigitAt(p, 0) ? START_DIGIT : 0) |
      (isLatinLetterAt(p, p.length - 1) ? END_LETTER : 0) |
      (isDigitAt(p, p.length - 1) ? END_DIGIT : 0);
  });
  const plans: Plan[] = [];
  for (const type of MESSAGE_TYPES)
    for (const subject of SUBJECTS) plans[planIndex(type, subject)] = plan(compiled, type, subject);
  return { sets: compiled, automaton, owners, edges, plans };
}

/** Reused between calls: evaluation is synchronous, so one scratch buffer serves the process. */
let scratch: NormalizedText | undefined;

/** Fewer meaningful characters than this outside variables and greetings: a template has no theme. */
export const MIN_THEME_CHARACTERS = 3;

export function evaluateContent(input: EvaluateInput, rules: CompiledRules): Verdict {
  const { content } = input;
  const plan = rules.plans[planIndex(input.type, input.subject)];
  if (!plan) throw new TypeError(`evaluateContent: unknown type or subject ${input.type}/${input.subject}`);
  const { applies } = plan;
  const findings: Finding[] = [];
  // Opt-out sets that apply; one that finds a phrase is marked here.
  const optOutFound = plan.optOut.length ? new Set<number>() : null;

  let normalized: NormalizedText | undefined;
  if (plan.scan) {
    normalized = scratch = normalizeText(content, scratch);
    const n = normalized;
    const { automaton, owners, edges } = rules;
    automaton.scan(n.units, n.length, (pattern, last) => {
      const start = n.sources[last - automaton.patterns[pattern]!.length + 1]!;
      const end = characterEnd(content, n.sources[last]!);
      const edge = edges[pattern]!;
      // A Latin word inside a longer Latin word is not that word ("NOV. Xmas" holds no VX, Essex
      // no "sex"); digits likewise. Checked on the original text, where a space is a boundary.
      if (edge !== 0) {
        if (edge & START_LETTER && isLatinLetterAt(content, start - 1)) return;
        if (edge & START_DIGIT && isDigitAt(content, start - 1)) return;
        if (edge & END_LETTER && isLatinLetterAt(content, end)) return;
        if (edge & END_DIGIT && isDigitAt(content, end)) return;
      }
      for (const owner of owners[pattern]!) {
        if (!applies[owner.set]) continue;
        const set = rules.sets[owner.set]!;
        if (set.kind === 'missing_opt_out') {
          optOutFound?.add(owner.set);
          continue;
        }
        const text = content.slice(start, end);
        findings.push({
          rule: set.kind,
          severity: set.severity,
          start,
          end,
          text,
          message: wordMessage(set.kind, owner.word, text),
        });
      }
    });
  }

  let keyword: boolean | undefined; // "回X退订" and the like, looked for once, only when needed
  for (const i of plan.optOut) {
    if (optOutFound?.has(i)) continue;
    keyword ??= normalized !== undefined && hasOptOutKeyword(normalized);
    if (keyword) continue;
    findings.push({
      rule: 'missing_opt_out',
      severity: rules.sets[i]!.severity,
      start: content.length,
      end: content.length,
      text: '',
      message: 'A marketing message must say how to opt out (回T退订, 拒收请回复R, reply STOP).',
    });
  }

  for (const i of plan.structural) {
    const s = rules.sets[i]!;
    if (s.kind === 'double_signature') findings.push(...secondSignatures(content, s.severity));
    else if (s.kind === 'themeless_template') {
      const finding = themeless(content, s.greetings, s.severity);
      if (finding) findings.push(finding);
    } else if (s.kind === 'too_long' && input.maxParts !== undefined) {
      const finding = tooLong(content, input.maxParts, s.severity);
      if (finding) findings.push(finding);
    }
  }

  if (findings.length === 0) return { blocked: false, findings };
  const kept = dedupe(findings);
  return { blocked: kept.some((f) => f.severity === 'block'), findings: kept };
}

function wordMessage(kind: RuleKind, word: string, text: string): string {
  const quoted = text === word ? `"${text}"` : `"${text}" (${word})`;
  switch (kind) {
    case 'banned_word':
      return `${quoted} is a banned word.`;
    case 'prohibited_industry':
      return `${quoted} names an industry that may not be sent marketing messages.`;
    case 'contact_diversion':
      return `${quoted} diverts the recipient to another contact channel (加QQ, 加微信), refused in every message type.`;
    case 'absolute_claim':
      return `${quoted} is an absolute claim, which advertising law forbids in marketing.`;
    default:
      return `${quoted} matched a ${kind} rule.`;
  }
}

// "回X退订", "退订回X", "回复X拒收", "拒收请回复X", "reply STOP": matched on the normalised text,
// where spaces and symbols are gone ("回 'TD' 退订" reads 回td退订).
const OPT_OUT_PATTERNS = [
  /回复?[a-z0-9]{1,11}(退订|拒收|退)/,
  /(退订|拒收)请?(回复?|发送?)[a-z0-9]{1,11}/,
  /(reply|text|send)(stop|unsubscribe|td)/,
];

function hasOptOutKeyword(n: NormalizedText): boolean {
  let text = '';
  for (let i = 0; i < n.length; i += 4096) {
    text += String.fromCharCode(...n.units.subarray(i, Math.min(n.length, i + 4096)));
  }
  return OPT_OUT_PATTERNS.some((p) => p.test(text));
}

const SIGNATURE = /【[^【】]*】/g;

function secondSignatures(content: string, severity: Severity): Finding[] {
  const out: Finding[] = [];
  const first = content.indexOf('【');
  if (first === -1 || content.indexOf('【', first + 1) === -1) return out; // the common case
  let count = 0;
  for (const m of content.matchAll(SIGNATURE)) {
    if (++count < 2) continue;
    out.push({
      rule: 'double_signature',
      severity,
      start: m.index,
      end: m.index + m[0].length,
      text: m[0],
      message: 'A second 【signature】: handsets drop messages with two signatures.',
    });
  }
  return out;
}

// The core's {name}, and the #name# / ${name} / {{name}} forms tenants bring from other clouds.
const PLACEHOLDER = /\{\{[^{}]*\}\}|\$\{[^{}]*\}|\{[^{}]*\}|#[\p{L}\p{N}_]+#/gu;

function themeless(content: string, greetings: readonly string[], severity: Severity): Finding | null {
  let rest = normalizeWord(content.replace(SIGNATURE, '').replace(PLACEHOLDER, ' '));
  for (const g of greetings) rest = rest.split(g).join('');
  if ([...rest].length >= MIN_THEME_CHARACTERS) return null;
  return {
    rule: 'themeless_template',
    severity,
    start: 0,
    end: content.length,
    text: content,
    message:
      'The template has no theme of its own: apart from variables and greetings (您好#content#) it says nothing.',
  };
}

function tooLong(content: string, maxParts: number, severity: Severity): Finding | null {
  const plan = planSegments(content);
  if (plan.parts <= maxParts) return null;
  // The longest prefix that fits, found by bisection (planSegments is linear), never splitting a
  // surrogate pair: the finding's span is what does not fit.
  let lo = 0;
  let hi = content.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (planSegments(content.slice(0, mid)).parts <= maxParts) lo = mid;
    else hi = mid - 1;
  }
  if (lo > 0 && (content.charCodeAt(lo - 1) & 0xfc00) === 0xd800) lo--;
  return {
    rule: 'too_long',
    severity,
    start: lo,
    end: content.length,
    text: content.slice(lo),
    message: `The text takes ${plan.parts} parts (${plan.encoding}); at most ${maxParts} are allowed.`,
  };
}

/**
 * One finding per rule and span: the same word in two sets of one kind, or a word inside a longer
 * one of the same rule ("第一" inside "全网第一"), keeps the longer or stronger finding.
 */
function dedupe(findings: Finding[]): Finding[] {
  const sorted = findings.sort(
    (a, b) =>
      a.start - b.start ||
      b.end - a.end ||
      (a.severity === b.severity ? 0 : a.severity === 'block' ? -1 : 1) ||
      a.rule.localeCompare(b.rule),
  );
  const kept: Finding[] = [];
  for (const f of sorted) {
    const covered = kept.some(
      (k) =>
        k.rule === f.rule &&
        k.start <= f.start &&
        k.end >= f.end &&
        (k.severity === 'block' || f.severity === 'warn'),
    );
    if (!covered) kept.push(f);
  }
  return kept;
}
