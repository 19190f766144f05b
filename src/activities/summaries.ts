/** AOP summary capping, shared by every kind of task. */
import { SUMMARY_CAPS } from '../domain/spec';
import type { OutputType } from '../domain/types';

export function capSummary(text: string, outputType: OutputType): string {
  const cap = SUMMARY_CAPS[outputType];
  const clean = text.trim();
  return clean.length <= cap ? clean : clean.slice(0, cap - 1) + '…';
}
