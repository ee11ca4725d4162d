import type { TableWaiter } from "./slot-table.js";
import type { Waiter } from "./waiters.js";

/**
 * A waiter of this process as a SlotTable in this process sees it (the in-process ledger, and the coordinator's own
 * requests): live candidates and caps, and the grant or refusal handed back by its id.
 */
export function tableWaiter(
  owner: string,
  waiter: Waiter,
  granted: (id: string, account: string, others: number) => void,
  refused: (id: string, error: unknown) => void,
): TableWaiter {
  const { request } = waiter;
  return {
    id: `${owner}/${waiter.id}`,
    owner,
    model: request.model,
    at: request.at ?? waiter.at,
    seq: request.seq,
    candidates: () => request.candidates(),
    cap: (account) => request.cap(account),
    grant: (account, others) => granted(waiter.id, account, others),
    reject: (error) => refused(waiter.id, error),
  };
}
