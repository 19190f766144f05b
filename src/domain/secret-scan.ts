/**
 * Finding credentials in text: the spec validator refuses a spec that carries one (it would be
 * stored in Temporal history, the mirrors and the agent's prompt), and the activities redact
 * them from command output and logs. Pure (no I/O, no Node built-ins): the epic workflow runs it.
 *
 * Only high-precision patterns: a vendor's fixed token format, a private key block, a URL with a
 * password in it, or an environment-style assignment to a secret-named variable. Prose that
 * talks about keys ("set ANTHROPIC_API_KEY", "a password field") never matches.
 */

export interface SecretKind {
  kind: string;
  /** What the user is told it looks like. */
  label: string;
  re: RegExp;
  /** Characters at the start of a match that are a public prefix (shown in the masked form). */
  keep: number;
  /** A further test of the secret part, for the rules that could otherwise hit prose. */
  accept?: (secret: string) => boolean;
  /** Widen the match back over the base64 lines before it (a regex doing so would be quadratic). */
  extendBack?: boolean;
}

const KEY_LINE = /^[A-Za-z0-9+/=]{16,}\r?$/;

/** Start of the run of key-looking lines that ends right before `index`. */
function keyLinesStart(text: string, index: number): number {
  let start = index;
  while (start > 0 && text[start - 1] === '\n') {
    const lineStart = text.lastIndexOf('\n', start - 2) + 1;
    if (!KEY_LINE.test(text.slice(lineStart, start - 1))) break;
    start = lineStart;
  }
  return start;
}

/** Real passwords and tokens mix character classes; prose words ("retrieved") do not. */
const looksRandom = (s: string) => /\d/.test(s) || (/[a-z]/.test(s) && /[A-Z]/.test(s)) || /[^A-Za-z0-9]/.test(s);

/**
 * The credentials we recognise; each regex is global so every occurrence is found. Every
 * repetition is bounded and every rule anchored (\b, ^ or a literal prefix): the scan runs over
 * 5 MB specs and command output, and an unbounded `[x]{40,}` followed by a literal backtracks
 * quadratically on a long run of such characters.
 */
export const SECRET_KINDS: readonly SecretKind[] = [
  // The whole block (to its END line, or to the end of the text if cut), and a cut block's tail.
  {
    kind: 'private-key',
    label: 'a private key block',
    re: /-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----|[\s\S]*)/g,
    keep: 0,
  },
  // The END line; the match is then widened back over the key lines above it (see extendBack).
  {
    kind: 'private-key',
    label: 'the end of a private key block',
    re: /-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/g,
    keep: 0,
    extendBack: true,
  },
  {
    kind: 'anthropic-api-key',
    label: 'an Anthropic API key',
    re: /\bsk-ant-[a-z]{2,10}\d{0,3}-[A-Za-z0-9_-]{20,300}/g,
    keep: 7,
  },
  {
    kind: 'openai-api-key',
    label: 'an OpenAI API key',
    re: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,200}T3BlbkFJ[A-Za-z0-9_-]{16,200}/g,
    keep: 3,
  },
  { kind: 'github-token', label: 'a GitHub token', re: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/g, keep: 4 },
  { kind: 'github-token', label: 'a GitHub fine-grained token', re: /\bgithub_pat_[A-Za-z0-9_]{50,255}\b/g, keep: 11 },
  { kind: 'aws-access-key-id', label: 'an AWS access key id', re: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g, keep: 4 },
  {
    kind: 'aws-secret-access-key',
    label: 'an AWS secret access key',
    re: /\baws_?secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi,
    keep: 0,
  },
  { kind: 'slack-token', label: 'a Slack token', re: /\bxox[abposr]-[A-Za-z0-9]{8,40}-[A-Za-z0-9-]{8,200}/g, keep: 5 },
  {
    kind: 'slack-webhook',
    label: 'a Slack webhook URL',
    re: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{6,20}\/B[A-Z0-9]{6,20}\/[A-Za-z0-9]{16,64}/g,
    keep: 29,
  },
  { kind: 'stripe-key', label: 'a Stripe secret key', re: /\b[sr]k_live_[A-Za-z0-9]{20,200}/g, keep: 8 },
  { kind: 'google-api-key', label: 'a Google API key', re: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g, keep: 4 },
  { kind: 'npm-token', label: 'an npm token', re: /\bnpm_[A-Za-z0-9]{36}\b/g, keep: 4 },
  {
    kind: 'jwt',
    label: 'a JSON Web Token',
    re: /\beyJ[A-Za-z0-9_-]{10,4000}\.eyJ[A-Za-z0-9_-]{10,8000}\.[A-Za-z0-9_-]{16,1000}/g,
    keep: 3,
  },
  // scheme://user:password@host; not placeholders such as ${DB_PASSWORD}, <password> or ****.
  {
    kind: 'url-password',
    label: 'a URL with a password',
    re: /\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s/:@'"]{1,100}:([^\s/@'"]{3,200})@(?=[^\s/'"])/gi,
    keep: 0,
  },
  // NAME_PASSWORD=value, API_TOKEN: "value" (an environment assignment, as in a command line).
  {
    kind: 'secret-assignment',
    label: 'a value assigned to a secret-named variable',
    re: /\b[A-Z][A-Z0-9_]{0,60}(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|ACCESS_KEY)["']?\s*[=:]\s*["']?([^\s"'$`<>{}()*,;]{8,500})/g,
    keep: 0,
    accept: looksRandom,
  },
];

/** Values that stand for a secret without being one (templates, examples, masks, our own redactions). */
const PLACEHOLDER =
  /^(?:\[redacted[^\]]*\]|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|(?:process\.env|import\.meta\.env|os\.environ|secrets|env)\.[A-Za-z0-9_.]+|<[^>]*>|\*+|x+|\.+|(?:your|my|the|some|example|sample|dummy|fake|test|placeholder|changeme|change_me|redacted|secret|password|passwd|pass|token|postgres|root|admin|user)[-_]?(?:password|secret|token|key|here|value)?)$/i;

export interface SecretMatch {
  kind: string;
  label: string;
  index: number;
  length: number;
  /** The match with everything past its public prefix hidden, e.g. `sk-ant-… (108 characters)`. */
  masked: string;
}

/** The secret part of a match for the rules that capture it (group 1), else the whole match. */
function secretPart(m: RegExpExecArray): string {
  return m[1] ?? m[0];
}

/** Every credential-looking span in `text`, in order, non-overlapping. */
export function findSecrets(text: string): SecretMatch[] {
  // Several rules can hit the same span (GITHUB_TOKEN=ghp_…): the rules are listed from the most
  // specific (a vendor's format) to the most generic, and a match overlapping one kept from an
  // earlier rule is dropped. Each rule's matches come in order, so one sweep per rule does it.
  let kept: SecretMatch[] = [];
  for (const k of SECRET_KINDS) {
    const mine = matchesOf(k, text);
    if (mine.length === 0) continue;
    const accepted: SecretMatch[] = [];
    let j = 0;
    for (const f of mine) {
      while (j < kept.length && kept[j].index + kept[j].length <= f.index) j++;
      if (j < kept.length && kept[j].index < f.index + f.length) continue;
      accepted.push(f);
    }
    kept = mergeByIndex(kept, accepted);
  }
  return kept;
}

function matchesOf(k: SecretKind, text: string): SecretMatch[] {
  const out: SecretMatch[] = [];
  k.re.lastIndex = 0;
  for (let m = k.re.exec(text); m; m = k.re.exec(text)) {
    if (m[0].length === 0) {
      k.re.lastIndex++;
    } else if (k.extendBack) {
      const start = keyLinesStart(text, m.index);
      const length = m.index + m[0].length - start;
      out.push({ kind: k.kind, label: k.label, index: start, length, masked: `… (${length} characters)` });
    } else if (isSecret(k, secretPart(m))) {
      out.push({ kind: k.kind, label: k.label, index: m.index, length: m[0].length, masked: mask(m, k.keep) });
    }
  }
  return out;
}

function mergeByIndex(a: SecretMatch[], b: SecretMatch[]): SecretMatch[] {
  const out: SecretMatch[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length)
    out.push(j >= b.length || (i < a.length && a[i].index <= b[j].index) ? a[i++] : b[j++]);
  return out;
}

function isSecret(k: SecretKind, secret: string): boolean {
  return !PLACEHOLDER.test(secret) && (k.accept?.(secret) ?? true);
}

function mask(m: RegExpExecArray, keep: number): string {
  const whole = m[0];
  const secret = secretPart(m);
  if (whole.startsWith('-----BEGIN'))
    return whole.slice(0, whole.indexOf('-----', 10) + 5) + ` … (${whole.length} characters)`;
  if (secret !== whole) {
    // Show the context (the variable name, the URL's user and host) and hide the value.
    return whole.replace(secret, `… (${secret.length} characters)`);
  }
  return keep >= whole.length ? whole : `${whole.slice(0, keep)}… (${whole.length} characters)`;
}

/** True when `text` holds something that looks like a credential. */
export function containsSecret(text: string): boolean {
  return findSecrets(text).length > 0;
}

/** `text` with every credential-looking span replaced by `[redacted <kind>]`. */
export function redactSecrets(text: string): string {
  const found = findSecrets(text);
  if (found.length === 0) return text;
  let out = '';
  let at = 0;
  for (const f of found) {
    out += `${text.slice(at, f.index)}[redacted ${f.kind}]`;
    at = f.index + f.length;
  }
  return out + text.slice(at);
}

export type PathPart = string | number;

/** A path as a chain of parent links: a deep document costs one node per level, not a copy. */
interface PathNode {
  key: PathPart;
  parent: PathNode | undefined;
}

function pathOf(node: PathNode | undefined): PathPart[] {
  const out: PathPart[] = [];
  for (let n = node; n; n = n.parent) out.push(n.key);
  return out.reverse();
}

/**
 * Calls `visit` for every string in parsed data, keys included, with a lazy path (built only
 * when asked for). Iterative, so a deeply nested document cannot overflow the stack.
 */
export function walkStrings(
  data: unknown,
  visit: (text: string, path: () => PathPart[], isKey: boolean) => void,
): void {
  const stack: { value: unknown; at: PathNode | undefined }[] = [{ value: data, at: undefined }];
  const seen = new Set<object>();
  while (stack.length) {
    const { value, at } = stack.pop()!;
    if (typeof value === 'string') {
      visit(value, () => pathOf(at), false);
    } else if (value && typeof value === 'object') {
      if (seen.has(value)) continue;
      seen.add(value);
      const entries: [PathPart, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, v] = entries[i];
        const node = { key, parent: at };
        if (typeof key === 'string') visit(key, () => pathOf(node), true);
        stack.push({ value: v, at: node });
      }
    }
  }
}

/** Reports each credential in parsed spec data with its path and kind, never the value. */
export function scanForSecrets(data: unknown, report: (path: PathPart[], message: string) => void): void {
  walkStrings(data, (text, path, isKey) => {
    for (const s of findSecrets(text)) report(path(), `${isKey ? 'the field name ' : ''}${secretMessage(s)}`);
  });
}

function secretMessage(s: SecretMatch): string {
  return (
    `looks like ${s.label} (${s.masked}); a spec must not carry secrets, since it is stored in ` +
    `Temporal history, the mirror files and the agents' prompts: give credentials to the worker's environment instead`
  );
}
