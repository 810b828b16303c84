import type { TRPCRouterRecord } from "@trpc/server";
import { createBudgetRoute } from "./create-budget";
import { createRateCardRoute } from "./create-rate-card";
import { deleteBudgetRoute } from "./delete-budget";
import { endNodeExclusionRoute } from "./end-node-exclusion";
import { excludeNodeRoute } from "./exclude-node";
import { explainLineRoute } from "./explain-line";
import { getCurrentPeriodRoute } from "./get-current-period";
import { getInvoiceRoute } from "./get-invoice";
import { getSettingsRoute } from "./get-settings";
import { getShowbackRoute } from "./get-showback";
import { getUsageRoute } from "./get-usage";
import { listBudgetsRoute } from "./list-budgets";
import { listInvoicesRoute } from "./list-invoices";
import { listNodeExclusionsRoute } from "./list-node-exclusions";
import { listRateCardsRoute } from "./list-rate-cards";
import { setInvoiceStatusRoute } from "./set-invoice-status";
import { setRateCardEndRoute } from "./set-rate-card-end";
import { updateBudgetRoute } from "./update-budget";
import { updateSettingsRoute } from "./update-settings";

/** Billing: owners, admins and the billing role (requireRole("billing")); operators and viewers get FORBIDDEN. */
export const billingRouter = {
  currentPeriod: getCurrentPeriodRoute,
  usage: getUsageRoute,
  invoices: listInvoicesRoute,
  invoice: getInvoiceRoute,
  explainLine: explainLineRoute,
  showback: getShowbackRoute,
  budgets: { list: listBudgetsRoute, create: createBudgetRoute, update: updateBudgetRoute, delete: deleteBudgetRoute },
  rateCards: { list: listRateCardsRoute, create: createRateCardRoute, setEnd: setRateCardEndRoute },
  settings: { get: getSettingsRoute, update: updateSettingsRoute },
  setInvoiceStatus: setInvoiceStatusRoute,
  excludeNode: excludeNodeRoute,
  nodeExclusions: { list: listNodeExclusionsRoute, end: endNodeExclusionRoute },
} satisfies TRPCRouterRecord;
