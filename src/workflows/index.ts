/** The workflow types the worker registers. */
export { epicWorkflow } from './epic';
export { orchestrateWorkflow } from './orchestrate';
export { phaseWorkflow } from './phase';
export { planWorkflow } from './plan';
export { planReshapeWorkflow } from './plan-reshape';
export { roadmapWorkflow } from './roadmap';
export { childProgressSignal, statusQuery, taskUpdatesSignal } from './messages';
