/**
 * Watches an epic's mirror files while it runs (fs.watch on the workspace's .claude folder plus a
 * fast poll, so writes are seen as they land) and checks every version it reads:
 *   - it parses as JSON and validates against CCASP's schema for that file;
 *   - `phaseflow.revision` never decreases for the same `phaseflow.owner`;
 *   - a file never goes back to an owner it had before (state.json passes from plan to plan);
 *   - in PROGRESS.json, a task once `completed` stays completed, and attempts never decrease.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ccaspProblems, kindOfMirror } from '../../support/ccasp';

const MIRROR = /(?:^|\/)(?:EPIC|ROADMAP|PROGRESS)\.json$|(?:^|\/)orchestrator\/state\.json$/;

interface FileState {
  text?: string;
  owner?: string;
  revision?: number;
  formerOwners: Set<string>;
  /** Per task (`<phase>/<id>`), for PROGRESS.json of the current owner. */
  tasks: Map<string, { status: string; attempts: number }>;
  versions: number;
}

export interface WatchReport {
  /** Reads that found a new version of a mirror file. */
  versionsSeen: number;
  /** Per file: versions seen, and the last revision of each owner. */
  files: Record<string, { versions: number; owners: number; lastRevision: number }>;
  violations: string[];
}

export class MirrorWatcher {
  private readonly files = new Map<string, FileState>();
  private readonly violations: string[] = [];
  private watcher: fs.FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly root: string;

  constructor(
    private readonly workspace: string,
    private readonly pollMs = 20,
  ) {
    this.root = path.join(workspace, '.claude');
  }

  start(): void {
    fs.mkdirSync(this.root, { recursive: true });
    this.watcher = fs.watch(this.root, { recursive: true }, (_event, name) => {
      const rel = name ? `.claude/${name.toString().split(path.sep).join('/')}` : undefined;
      if (rel && MIRROR.test(rel)) this.check(rel);
    });
    this.watcher.on('error', (err) => this.violations.push(`fs.watch failed: ${err.message}`));
    this.timer = setInterval(() => this.pollAll(), this.pollMs);
  }

  /** Mirror versions seen so far: grows while the epic makes progress. */
  get versionsSeen(): number {
    let n = 0;
    for (const s of this.files.values()) n += s.versions;
    return n;
  }

  /** Stops watching, reads every mirror file a last time, and reports. */
  stop(): WatchReport {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
    this.pollAll();
    const files: WatchReport['files'] = {};
    for (const [file, s] of this.files)
      files[file] = { versions: s.versions, owners: s.formerOwners.size + 1, lastRevision: s.revision ?? 0 };
    return { versionsSeen: this.versionsSeen, files, violations: [...this.violations] };
  }

  private pollAll(): void {
    for (const rel of mirrorFilesIn(this.workspace)) this.check(rel);
  }

  private check(rel: string): void {
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.workspace, rel), 'utf8');
    } catch (err) {
      // Not written yet. A rename replaces the file atomically, so it never goes missing later.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !this.files.has(rel)) return;
      this.violations.push(`${rel}: unreadable: ${(err as Error).message}`);
      return;
    }
    const s: FileState = this.files.get(rel) ?? { formerOwners: new Set<string>(), tasks: new Map(), versions: 0 };
    this.files.set(rel, s);
    if (text === s.text) return;
    s.text = text;
    s.versions++;
    let doc: any;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      this.violations.push(
        `${rel}: not JSON (${(err as Error).message}); ${text.length} bytes: ${JSON.stringify(text.slice(0, 80))}…`,
      );
      return;
    }
    for (const p of ccaspProblems(kindOfMirror(rel), doc))
      this.violations.push(`${rel} revision ${doc?.phaseflow?.revision}: CCASP schema: ${p}`);
    const owner: unknown = doc?.phaseflow?.owner;
    const revision: unknown = doc?.phaseflow?.revision;
    if (typeof owner !== 'string' || typeof revision !== 'number') {
      this.violations.push(`${rel}: phaseflow.owner/revision missing (${JSON.stringify(doc?.phaseflow)})`);
      return;
    }
    if (owner !== s.owner) {
      if (s.formerOwners.has(owner))
        this.violations.push(`${rel}: went back to former owner ${owner} (revision ${revision}) after ${s.owner}`);
      if (s.owner) s.formerOwners.add(s.owner);
      s.owner = owner;
      s.tasks.clear();
    } else if (revision < s.revision!) {
      this.violations.push(`${rel}: revision went backwards for ${owner}: ${s.revision} → ${revision}`);
    }
    s.revision = revision;
    if (kindOfMirror(rel) === 'progress') this.checkTasks(rel, s, doc);
  }

  private checkTasks(rel: string, s: FileState, doc: any): void {
    for (const phase of doc.phases ?? []) {
      for (const t of phase.tasks ?? []) {
        const key = `${phase.slug}/${t.id}`;
        const before = s.tasks.get(key);
        if (before?.status === 'completed' && t.status !== 'completed') {
          this.violations.push(
            `${rel} revision ${doc.phaseflow.revision}: task ${key} was completed and is now ${t.status} (attempts ${before.attempts} → ${t.attempts})`,
          );
        }
        if (before && t.attempts < before.attempts)
          this.violations.push(
            `${rel} revision ${doc.phaseflow.revision}: task ${key} attempts went back ${before.attempts} → ${t.attempts}`,
          );
        s.tasks.set(key, { status: t.status, attempts: t.attempts });
      }
    }
  }
}

/** The mirror files present in a workspace, workspace-relative. */
export function mirrorFilesIn(workspace: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(workspace, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(child);
      else if (MIRROR.test(child)) out.push(child);
    }
  };
  for (const dir of ['epics', 'roadmaps', 'phase-plans', 'orchestrator']) walk(`.claude/${dir}`);
  return out.sort();
}
