export * from "./names";
export * from "./states";
