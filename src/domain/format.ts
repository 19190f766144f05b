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
