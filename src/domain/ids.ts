/**
 * Readable workflow ids, so the Web UI and `temporal workflow list` read like the hierarchy:
 * `epic/<slug>`, `epic/<slug>/<roadmap>`, `…/<plan>`, `…/<phase>`. Each child's id extends its
 * parent's, so an epic started under another id (`phaseflow start --id`) gets its own tree.
 */
export const workflowIds = {
  epic: (epic: string) => `epic/${epic}`,
  child: (parentWorkflowId: string, slug: string) => `${parentWorkflowId}/${slug}`,
};
