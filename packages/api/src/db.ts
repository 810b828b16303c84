import type { Prisma, PrismaClient } from "@stowage/prisma";

/** What repositories accept: the client itself or an interactive transaction. */
export type Db = PrismaClient | Prisma.TransactionClient;
export type { PrismaClient };
