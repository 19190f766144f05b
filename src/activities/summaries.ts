/** AOP summary capping, shared by every kind of task. */
import { SUMMARY_CAPS } from '../domain/spec';
import type { OutputType } from '../domain/types';

/** Caps a summary at the output type's limit (SUMMARY_CAPS), marking the cut with an ellipsis. */
export function capSummary(summary: string, outputType: OutputType): string {
  const cap = SUMMARY_CAPS[outputType];
  const text = summary.trim();
  const chars = [...text]; // count code points, not UTF-16 units
  return chars.length <= cap
    ? text
    : `${chars
        .slice(0, cap - 1)
        .join('')
        .trimEnd()}…`;
}
