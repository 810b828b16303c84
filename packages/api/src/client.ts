/**
 * What the dashboard's browser code may take from the API package: the
 * shared vocabulary (roles, states, name rules) and the types of what the
 * procedures return. Everything from the router is a type-only import, so
 * importing this module pulls no server code (Prisma, better-auth, pg) into
 * a browser bundle; keep it that way (a test checks).
 */
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "./root";

export * from "@stowage/vocabulary";

export type { AppRouter };
/** `RouterOutputs["volume"]["get"]` is what `volume.get` returns, as JSON-ready types. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;
