/** An error the model should see as an `is_error` tool result; it never fails the activity. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
}
