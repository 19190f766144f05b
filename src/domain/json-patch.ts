/**
 * Minimal set/delete patches between two JSON documents. Mirror writes send only what changed,
 * so a plan's history holds each task summary once, not once per write.
 */
import { isRecord } from './guards';

export type JsonPath = (string | number)[];
export type PatchOp = { path: JsonPath; value: unknown } | { path: JsonPath; delete: true };

export function diff(a: unknown, b: unknown, path: JsonPath = [], out: PatchOp[] = []): PatchOp[] {
  if (a === b) return out;
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    b.forEach((item, i) => diff(a[i], item, [...path, i], out));
  } else if (isRecord(a) && isRecord(b)) {
    for (const k of Object.keys(b)) diff(a[k], b[k], [...path, k], out);
    for (const k of Object.keys(a)) if (!(k in b)) out.push({ path: [...path, k], delete: true });
  } else if (a !== b) {
    out.push({ path, value: b });
  }
  return out;
}

export function applyPatch(doc: unknown, ops: PatchOp[]): unknown {
  let root = doc;
  for (const op of ops) {
    if (op.path.length === 0) {
      root = 'delete' in op ? undefined : structuredCloneJson(op.value);
      continue;
    }
    let node: any = root;
    for (const key of op.path.slice(0, -1)) {
      if (node[key] === undefined || node[key] === null || typeof node[key] !== 'object')
        throw new Error(`patch path ${op.path.join('.')} does not exist in the document`);
      node = node[key];
    }
    const last = op.path[op.path.length - 1];
    if ('delete' in op) delete node[last];
    else node[last] = structuredCloneJson(op.value);
  }
  return root;
}

function structuredCloneJson<T>(v: T): T {
  return v === undefined ? v : JSON.parse(JSON.stringify(v));
}
