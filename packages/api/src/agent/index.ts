export { createAgentHandler, MAX_AGENT_BODY_BYTES } from "./handler";
