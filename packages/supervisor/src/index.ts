export { ChildService, exitCode, startFailedOnTakenPort, type ChildOptions, type ChildOutput, type ExitStatus, type OutputStream } from "./child";
export { silentLogger, type SupervisorLogger } from "./logger";
export { pollUntil, withTimeout, type PollOptions } from "./poll";
export { runToCompletion, type RunOptions } from "./run";
export { onSignals, ServiceGroup, waitForSignal, type Service } from "./service";
