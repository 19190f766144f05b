/**
 * CCASP's published JSON Schemas (draft-07) as ajv validators, read at test time from the shared
 * reference folder beside the repository (`../shared/reference/ccasp/schemas`); they are not
 * copied into the project.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const CCASP_SCHEMA_DIR = path.resolve(REPO_ROOT, '../shared/reference/ccasp/schemas');

/** Which schema checks which mirror file (keys are writeMirror's `kind`). */
export const CCASP_SCHEMA_FILES = {
  epic: 'epic.schema.json', // EPIC.json
  roadmap: 'roadmap.schema.json', // ROADMAP.json
  progress: 'progress.schema.json', // PROGRESS.json
  state: 'orchestrator-state.schema.json', // .claude/orchestrator/state.json
} as const;
export type CcaspKind = keyof typeof CCASP_SCHEMA_FILES;

let validators: Record<CcaspKind, ValidateFunction> | undefined;

export function ccaspValidators(): Record<CcaspKind, ValidateFunction> {
  if (validators) return validators;
  if (!fs.existsSync(CCASP_SCHEMA_DIR)) {
    throw new Error(
      `CCASP schemas not found at ${CCASP_SCHEMA_DIR}: these tests read them from ../shared/reference/ccasp/schemas ` +
        `relative to the repository root (${REPO_ROOT}); check out the shared reference folder beside the repository`,
    );
  }
  const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strict: true });
  addFormats(ajv);
  const out = {} as Record<CcaspKind, ValidateFunction>;
  for (const [kind, file] of Object.entries(CCASP_SCHEMA_FILES) as [CcaspKind, string][]) {
    const full = path.join(CCASP_SCHEMA_DIR, file);
    if (!fs.existsSync(full)) throw new Error(`CCASP schema ${full} is missing`);
    const schema = JSON.parse(fs.readFileSync(full, 'utf8'));
    if (schema.$schema !== 'http://json-schema.org/draft-07/schema#')
      throw new Error(`${full}: expected a draft-07 schema, got ${schema.$schema}`);
    out[kind] = ajv.compile(schema);
  }
  validators = out;
  return out;
}

/** Validates a document; returns readable problems (empty when valid). */
export function ccaspProblems(kind: CcaspKind, doc: unknown): string[] {
  const validate = ccaspValidators()[kind];
  if (validate(doc)) return [];
  return (validate.errors ?? []).map(formatError);
}

function formatError(e: ErrorObject): string {
  return `${e.instancePath || '(root)'} ${e.message ?? e.keyword}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`;
}

/** The mirror kind of a workspace-relative mirror path. */
export function kindOfMirror(file: string): CcaspKind {
  if (file.endsWith('EPIC.json')) return 'epic';
  if (file.endsWith('ROADMAP.json')) return 'roadmap';
  if (file.endsWith('PROGRESS.json')) return 'progress';
  if (file.endsWith(path.join('orchestrator', 'state.json')) || file.endsWith('orchestrator/state.json'))
    return 'state';
  // Each plan's own orchestrator state, from which state.json is rebuilt.
  if (/orchestrator[/\\]plans[/\\][^/\\]+\.json$/.test(file)) return 'state';
  throw new Error(`not a mirror file: ${file}`);
}
