/** Numbers as people read them, without locale data (workflow code runs without it). */

/** 6348 → "6,348". */
export function groupDigits(n: number): string {
  const [int, frac] = String(Math.abs(n)).split('.');
  return `${n < 0 ? '−' : ''}${int.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${frac ? `.${frac}` : ''}`;
}

export const tokensText = (n: number): string => `${groupDigits(n)} tokens`;

/** Dollars with 2 decimals ("$0.50", "$12.00", "$1.23"); under $1 and not whole cents, 4 ("$0.0132", "$0.0001"). */
export function usdText(x: number): string {
  const abs = Math.abs(x);
  const cents = Math.abs(abs * 100 - Math.round(abs * 100)) < 1e-9;
  return `${x < 0 ? '−' : ''}$${abs >= 1 || cents ? abs.toFixed(2) : abs.toFixed(4)}`;
}

/**
 * Completion as every file and view shows it: done/total in percent, rounded to one decimal
 * (4 of 6 → 66.7), and 100 only for a level that is done: a phase whose tasks all ran but whose
 * gate failed, or a failed plan, shows at most 99.9.
 */
export function completionPercent(done: number, total: number, finished: boolean): number {
  const p = total === 0 ? (finished ? 100 : 0) : Math.round((done / total) * 1000) / 10;
  return finished ? p : Math.min(p, 99.9);
}
