export { pollUntil, withTimeout, type PollOptions } from "@stowage/supervisor";
