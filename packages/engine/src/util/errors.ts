/** Moved to src/errors.ts; kept while importers move over. */
export { EngineError, errnoCode, type EngineErrorCode } from "../errors";
