/**
 * What this conversation has seen of each file, so that agents running side by side in one
 * workspace do not clobber each other's work (Claude Code's rule): Write refuses to replace a file
 * the conversation never read, and Write and Edit refuse a file that changed since it last read
 * or wrote it. Each tool error tells the model what to do instead.
 */
import { createHash } from 'node:crypto';
import { ToolError } from './tool-error';

/** Workspace-relative path → hash of the content the conversation last read or wrote. */
export type SeenFiles = Map<string, string>;

export function contentHash(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Before Write replaces `rel` (whose current content is `current`, if it exists). */
export function checkWrite(seen: SeenFiles | undefined, rel: string, current: Buffer | undefined): void {
  if (!seen || current === undefined) return;
  const last = seen.get(rel);
  if (last === undefined)
    throw new ToolError(
      `${rel} already exists and this conversation has not read it; nothing was written. Read it first (another task may have just written it), then write or edit it.`,
    );
  if (last !== contentHash(current))
    throw new ToolError(
      `${rel} has changed since this conversation last read it (another task or a command changed it); nothing was written. Read it again, then write it with those changes kept.`,
    );
}

/** Before Edit changes `rel`: refused if it changed since this conversation last read or wrote it. */
export function checkEdit(seen: SeenFiles | undefined, rel: string, current: string): void {
  const last = seen?.get(rel);
  if (last === undefined || last === contentHash(current)) return;
  throw new ToolError(
    `${rel} has changed since this conversation last read it (another task or a command changed it); nothing was edited. Read it again, then make the edit against its current content.`,
  );
}

/**
 * The files a conversation read or wrote successfully (Read, Write, Edit with no error result), by
 * the path it gave: on resuming from a transcript, the conversation has seen them as they are now.
 */
export function pathsSeenIn(messages: { role: string; content: unknown }[]): string[] {
  const failed = new Set<string>();
  const uses: { id: string; path: string }[] = [];
  for (const m of messages) {
    if (!Array.isArray(m.content)) continue;
    for (const b of m.content as {
      type: string;
      id?: string;
      name?: string;
      input?: any;
      tool_use_id?: string;
      is_error?: boolean;
    }[]) {
      if (
        b.type === 'tool_use' &&
        ['Read', 'Write', 'Edit'].includes(b.name ?? '') &&
        typeof b.input?.file_path === 'string'
      )
        uses.push({ id: b.id ?? '', path: b.input.file_path });
      if (b.type === 'tool_result' && b.is_error && b.tool_use_id) failed.add(b.tool_use_id);
    }
  }
  return [...new Set(uses.filter((u) => !failed.has(u.id)).map((u) => u.path))];
}

export function recordSeen(seen: SeenFiles | undefined, rel: string, content: string | Buffer): void {
  seen?.set(rel, contentHash(content));
}
