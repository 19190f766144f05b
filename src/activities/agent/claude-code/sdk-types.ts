/**
 * The part of `@anthropic-ai/claude-agent-sdk`'s API (sdk.d.ts of the version in install.ts)
 * that phaseflow uses. The package is installed on demand (install.ts), so its own types are
 * not there when phaseflow compiles; these mirror the SDK's names and shapes, narrowed to the
 * fields read or set here.
 */

export interface ApiUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

export interface ContentBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
}

export interface SDKAssistantMessage {
  type: 'assistant';
  message: { id: string; model: string; content: ContentBlock[]; stop_reason: string | null; usage?: ApiUsage };
  parent_tool_use_id: string | null;
  /** Set when the turn failed at the API (after Claude Code's own retries). */
  error?: string;
  session_id: string;
  uuid: string;
}

export interface ModelUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  cacheCreationInputTokens: number;
  costUSD: number;
}

export interface SDKResultMessage {
  type: 'result';
  subtype:
    | 'success'
    | 'error_during_execution'
    | 'error_max_turns'
    | 'error_max_budget_usd'
    | 'error_max_structured_output_retries';
  is_error: boolean;
  num_turns: number;
  stop_reason: string | null;
  total_cost_usd: number;
  usage: ApiUsage;
  modelUsage: Record<string, ModelUsage>;
  /** success only: the final text. */
  result?: string;
  /** errors only. */
  errors?: string[];
  session_id: string;
}

export interface SDKSystemMessage {
  type: 'system';
  subtype: string;
  session_id: string;
  model?: string;
  tools?: string[];
  claude_code_version?: string;
  /** api_retry */
  attempt?: number;
  max_retries?: number;
  retry_delay_ms?: number;
  error_status?: number | null;
  error?: string;
}

export type SDKMessage =
  | SDKAssistantMessage
  | SDKResultMessage
  | SDKSystemMessage
  | {
      type: 'user' | 'stream_event' | 'tool_progress' | 'auth_status' | string;
      session_id?: string;
      [k: string]: unknown;
    };

export interface PreToolUseHookInput {
  hook_event_name: 'PreToolUse';
  tool_name: string;
  tool_input: unknown;
  tool_use_id: string;
  session_id: string;
  cwd: string;
}

export interface PostToolUseHookInput {
  hook_event_name: 'PostToolUse' | 'PostToolUseFailure';
  tool_name: string;
  tool_input: unknown;
  tool_use_id: string;
  tool_response?: unknown;
  error?: string;
}

export interface HookOutput {
  continue?: boolean;
  stopReason?: string;
  hookSpecificOutput?: {
    hookEventName: 'PreToolUse';
    permissionDecision?: 'allow' | 'deny' | 'ask' | 'defer';
    permissionDecisionReason?: string;
    updatedInput?: Record<string, unknown>;
  };
}

export type HookCallback = (
  input: PreToolUseHookInput | PostToolUseHookInput,
  toolUseID: string | undefined,
  options: { signal: AbortSignal },
) => Promise<HookOutput>;

export type PermissionResult =
  | { behavior: 'allow'; updatedInput?: Record<string, unknown> }
  | { behavior: 'deny'; message: string; interrupt?: boolean };

export interface SpawnOptions {
  command: string;
  args: string[];
  cwd?: string;
  env: Record<string, string | undefined>;
  signal: AbortSignal;
}

export interface Options {
  abortController?: AbortController;
  agent?: string;
  allowedTools?: string[];
  disallowedTools?: string[];
  tools?: string[];
  canUseTool?: (
    toolName: string,
    input: Record<string, unknown>,
    options: { signal: AbortSignal },
  ) => Promise<PermissionResult>;
  cwd?: string;
  env?: Record<string, string | undefined>;
  hooks?: Partial<
    Record<'PreToolUse' | 'PostToolUse' | 'PostToolUseFailure', { matcher?: string; hooks: HookCallback[] }[]>
  >;
  maxTurns?: number;
  maxBudgetUsd?: number;
  model?: string;
  permissionMode?: 'default' | 'acceptEdits' | 'bypassPermissions' | 'plan' | 'dontAsk' | 'auto';
  resume?: string;
  settingSources?: ('user' | 'project' | 'local')[];
  systemPrompt?: string | { type: 'preset'; preset: 'claude_code'; append?: string };
  stderr?: (data: string) => void;
  spawnClaudeCodeProcess?: (options: SpawnOptions) => unknown;
  includePartialMessages?: boolean;
}

export interface Query extends AsyncGenerator<SDKMessage, void> {
  interrupt(): Promise<void>;
}

export interface ClaudeAgentSdk {
  query(params: { prompt: string; options?: Options }): Query;
}
