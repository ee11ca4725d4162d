import type { ApiKey } from "../config/keys.js";
import type { Settings } from "../config/schema.js";
import type { Core, FetchEvent } from "../fetch/lifecycle.js";
import type { SlotLedger } from "../ledger/ledger.js";
import type { Notifier } from "../notify/notifier.js";
import { KeyPool } from "../pool/key-pool.js";
import { emptyPoolState, type PoolState } from "../pool/pool-state.js";
import { Foresight, type ForesightDeps } from "../routing/foresight.js";
import { Leases } from "../leases/leases.js";
import { Limits } from "../limits/limits.js";
import type { Clock } from "../util/clock.js";

export interface CoreDeps {
  keys: readonly ApiKey[];
  settings: Settings;
  clock: Clock;
  notifier: Notifier;
  /** Cooldowns and disabled keys to start from (another process's, or tests'); empty when not given. */
  state?: PoolState;
  /** Where slots live and requests wait (src/ledger); this process only when not given. */
  ledger?: SlotLedger;
  onEvent?: (event: FetchEvent) => void;
  /** Saves what was learned where other processes see it (see LifecycleDeps.persist). */
  persist?: () => Promise<void>;
  /** Reads the quota endpoint (issue 12); without it no account's quota is read. */
  quotaFetch?: typeof globalThis.fetch;
  /** Each new quota reading, to persist for `status`. */
  onQuota?: ForesightDeps["onQuota"];
  /** Where round-robin starts (see ForesightDeps); 0 when not given. */
  rotationStart?: number;
}

/**
 * Builds what the request loop works on, once per engine: the key pool, the learned limits (changes logged, emitted,
 * persisted), the ledger's slots as leases, and foresight over them.
 */
export function createCore(deps: CoreDeps): Core {
  const { settings, clock, notifier } = deps;
  const pool = new KeyPool(deps.keys, deps.state ?? emptyPoolState());
  const limits = new Limits(
    settings,
    (change) => {
      const text = `learned limit ${change.account}/${change.model}: ${change.from} -> ${change.to} (${change.why})`;
      notifier.log("info", text, { ...change });
      deps.onEvent?.({ type: "limit", change });
      void deps.persist?.();
    },
    clock,
  );
  const leases = new Leases(clock, limits, { cancelGraceMs: settings.retry.cancelGraceMs, ledger: deps.ledger });
  const foresight = new Foresight({
    pool,
    slots: {
      inFlight: (a, m) => leases.inFlight(a, m),
      cap: (a, m) => limits.cap(a, m),
      waiting: (m) => leases.waiting(m),
      wakeAt: (t) => leases.wakeAt(t),
    },
    settings,
    clock,
    quotaFetch: deps.quotaFetch,
    notifier,
    rotationStart: deps.rotationStart ?? 0,
    ...(deps.onQuota ? { onQuota: deps.onQuota } : {}),
  });
  return {
    pool,
    limits,
    leases,
    foresight,
    close() {
      leases.close();
      foresight.close();
    },
  };
}
