/**
 * A project's Claude Code agent, `.claude/agents/<name>.md`: Markdown with YAML frontmatter
 * (name, description, tools, model, permissionMode). Claude Code reads it itself (option `agent`);
 * phaseflow only checks that it is there and reads its `model`, so that an agent that names
 * one keeps it instead of the task's.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { claudeAgentFile } from '../../../domain/agent-runtime';
import { resolveInWorkspace } from '../workspace';

export interface AgentFile {
  /** Workspace-relative path. */
  file: string;
  model?: string;
  tools?: string;
}

/** Throws an Error that says which file is missing or unreadable. */
export async function readAgentFile(workspace: string, name: string): Promise<AgentFile> {
  const rel = claudeAgentFile(name);
  if (name.includes('/') || name.startsWith('.')) throw new Error(`"${name}" is not an agent name (${rel})`);
  let text: string;
  try {
    text = await fs.readFile(await resolveInWorkspace(workspace, rel), 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(
      e.code === 'ENOENT'
        ? `no Claude Code agent "${name}": ${rel} does not exist in the workspace ${workspace}`
        : `cannot read the Claude Code agent ${path.join(workspace, rel)}: ${e.message}`,
    );
  }
  const m = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
  let front: Record<string, unknown> = {};
  if (m) {
    try {
      const parsed: unknown = YAML.parse(m[1]);
      if (parsed && typeof parsed === 'object') front = parsed as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${rel}: its frontmatter is not valid YAML: ${(err as Error).message}`);
    }
  }
  const model = typeof front.model === 'string' && front.model !== 'inherit' ? front.model : undefined;
  const tools =
    typeof front.tools === 'string' ? front.tools : Array.isArray(front.tools) ? front.tools.join(', ') : undefined;
  return { file: rel, ...(model ? { model } : {}), ...(tools ? { tools } : {}) };
}
