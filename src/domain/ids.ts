/** Readable workflow ids, so the Web UI and `temporal workflow list` read like the hierarchy. */
export const workflowIds = {
  epic: (epic: string) => `epic/${epic}`,
  roadmap: (epic: string, roadmap: string) => `epic/${epic}/${roadmap}`,
  plan: (epic: string, roadmap: string, plan: string) => `epic/${epic}/${roadmap}/${plan}`,
  phase: (epic: string, roadmap: string, plan: string, phase: string) => `epic/${epic}/${roadmap}/${plan}/${phase}`,
};

export const WORKFLOW_TYPES = {
  epic: 'epicWorkflow',
  roadmap: 'roadmapWorkflow',
  plan: 'planWorkflow',
  phase: 'phaseWorkflow',
} as const;
