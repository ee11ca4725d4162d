/**
 * The order in which accounts are offered a request: pure, so every rule here is a table row in a test.
 *
 * 1. Start from the strategy: round-robin rotates the usable accounts from the cursor; fill-first keeps file order.
 * 2. A new session (it has an id but no placement yet) goes to the account with the fewest sessions per slot first,
 *    then the least loaded (round-robin only): the accounts carry even shares of the sessions, and so of the load.
 * 3. Accounts past the quota threshold go out while any account below it can serve; when every account is past
 *    it, all stay, the one with the most left (then the soonest reset) first, and `allPastThreshold` says so.
 * 4. Accounts the request already failed on go last.
 * 5. A session's previous account goes first. When it has no free slot but another account has, the request waits
 *    for it alone for up to `maxWaitMs` (what a cache hit there saves: the caller bounds it by the session's prompt),
 *    while fewer requests wait for the model than all accounts have slots (so every waiter can expect a slot within
 *    about one turn); past that, slots and fairness win over stickiness, and the turn moves.
 */

export interface AccountLoad {
  inFlight: number;
  /** Slots the account may use for the model now. */
  cap: number;
}

/** What the quota readings say about an account (absent: nothing known, treated as fresh). */
export interface QuotaView {
  /** Past the threshold until this time (Infinity: until a new reading). Undefined: below it. */
  pastUntil: number | undefined;
  /** Highest current percentage of its 5-hour and weekly windows. */
  usedPercent: number | undefined;
}

export interface StickyView {
  account: string;
  /** How long this request has waited for a slot so far. */
  waitedMs: number;
  maxWaitMs: number;
  /** Other requests of the model waiting for a slot. */
  othersWaiting: number;
}

export interface ChooseInput {
  /** Accounts that may take the request now, in file order. */
  usable: readonly string[];
  strategy: "round-robin" | "fill-first";
  /** Round-robin position: the index in `usable` to start from. */
  cursor: number;
  avoid: ReadonlySet<string>;
  load: (account: string) => AccountLoad;
  quota?: (account: string) => QuotaView | undefined;
  /** The session's previous account, when the request belongs to a known session. */
  sticky?: StickyView | undefined;
  /** The request names a session that has no placement yet. */
  newSession?: boolean;
  /** Sessions placed on the account (for a new session's placement). */
  sessions?: (account: string) => number;
}

export interface Choice {
  order: string[];
  /** Every usable account is past the quota threshold (tell the user once). */
  allPastThreshold: boolean;
  /** The request is held for its session's account; re-decide after `recheckInMs`. */
  holdForSticky: { account: string; recheckInMs: number } | undefined;
}

export function chooseAccounts(input: ChooseInput): Choice {
  const { usable, load } = input;
  let order = [...usable];
  if (input.strategy === "round-robin" && order.length > 1) {
    const start = input.cursor % order.length;
    order = [...order.slice(start), ...order.slice(0, start)];
    if (input.newSession === true) {
      const perSlot = (a: string) => (input.sessions?.(a) ?? 0) / Math.max(1, load(a).cap);
      order = stableSort(order, (a, b) => perSlot(a) - perSlot(b) || loadShare(load(a)) - loadShare(load(b)));
    }
  }

  let allPastThreshold = false;
  if (input.quota !== undefined) {
    const view = input.quota;
    const fresh = order.filter((a) => view(a)?.pastUntil === undefined);
    if (fresh.length > 0) order = fresh;
    else if (order.length > 0) {
      allPastThreshold = true;
      order = stableSort(order, (a, b) => {
        const va = view(a);
        const vb = view(b);
        return (
          (va?.usedPercent ?? 100) - (vb?.usedPercent ?? 100) ||
          (va?.pastUntil ?? Infinity) - (vb?.pastUntil ?? Infinity)
        );
      });
    }
  }

  if (input.avoid.size > 0)
    order = [...order.filter((a) => !input.avoid.has(a)), ...order.filter((a) => input.avoid.has(a))];

  const sticky = input.sticky;
  let holdForSticky: Choice["holdForSticky"];
  if (sticky !== undefined && order.includes(sticky.account) && !input.avoid.has(sticky.account)) {
    order = [sticky.account, ...order.filter((a) => a !== sticky.account)];
    const stickyFree = hasFreeSlot(load(sticky.account));
    const otherFree = order.some((a) => a !== sticky.account && hasFreeSlot(load(a)));
    const waitLeft = sticky.maxWaitMs - sticky.waitedMs;
    const slots = order.reduce((n, a) => n + Math.max(0, load(a).cap), 0);
    if (!stickyFree && otherFree && waitLeft > 0 && sticky.othersWaiting < slots) {
      holdForSticky = { account: sticky.account, recheckInMs: waitLeft };
      order = [sticky.account];
    }
  }
  return { order, allPastThreshold, holdForSticky };
}

function hasFreeSlot(l: AccountLoad): boolean {
  return l.inFlight < l.cap;
}

/** Share of the account's slots in use; an account with no slots counts as full. */
function loadShare(l: AccountLoad): number {
  return l.cap <= 0 ? 1 : l.inFlight / l.cap;
}

function stableSort<T>(items: readonly T[], compare: (a: T, b: T) => number): T[] {
  return items
    .map((item, i) => ({ item, i }))
    .sort((x, y) => compare(x.item, y.item) || x.i - y.i)
    .map((x) => x.item);
}
