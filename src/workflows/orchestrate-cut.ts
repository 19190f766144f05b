/**
 * `--until phase:N`: the epic runs its phases up to the Nth (counted across its plans in order)
 * and no further. The approved plan on disk keeps every phase; the epic started is its prefix.
 */
import type { EpicSpecInput } from '../domain/spec';

export function cutAfterPhase(spec: EpicSpecInput, until: string): { spec: EpicSpecInput; cut: boolean } {
  const m = /^phase:(\d+)$/.exec(until);
  if (!m) return { spec, cut: false };
  let left = Number(m[1]);
  let cut = false;
  const roadmaps = spec.roadmaps.flatMap((r) => {
    const plans = r.plans.flatMap((p) => {
      if (left <= 0) {
        cut = true;
        return [];
      }
      const phases = p.phases.slice(0, left);
      if (phases.length < p.phases.length) cut = true;
      left -= phases.length;
      return [{ ...p, phases }];
    });
    return plans.length ? [{ ...r, plans }] : [];
  });
  return { spec: { ...spec, roadmaps }, cut };
}
