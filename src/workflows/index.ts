/** The workflow types the worker registers. */
export { epicWorkflow } from './epic';
export { phaseWorkflow } from './phase';
export { planWorkflow } from './plan';
export { planReshapeWorkflow } from './plan-reshape';
export { roadmapWorkflow } from './roadmap';
export { childProgressSignal, statusQuery, taskUpdatesSignal } from './messages';
