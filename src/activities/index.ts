/** Every activity the worker registers; workflows import this module as types only. */
export { runAgentTask } from './agent-task';
export { runCommandTask } from './command-task';
export { runGate } from './gate';
export { writeMirror } from './mirrors';
export { prepareWorkspace } from './prepare';
export {
  reshapeAnalyze,
  reshapeApply,
  reshapeCheckpoint,
  reshapeOperation,
  reshapeRestore,
  reshapeStage,
} from './plan-reshape';
export {
  orchestrateCheckDraft,
  orchestrateEpicBytes,
  orchestrateMeasureFiles,
  orchestratePhaseSummaries,
  orchestrateRecord,
  orchestrateSurvey,
} from './orchestrate';
export { gitPrepareWorkspace } from './git/prepare';
export { gitCommitPhase, gitPhaseStart, gitResetPhase } from './git/phase-commits';
export { githubAwaitCommand } from './github/commands';
export { githubPullRequest } from './github/pull-request';
export { githubSyncIssue } from './github/sync-issue';
