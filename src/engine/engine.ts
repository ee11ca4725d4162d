import { PLACEHOLDER_KEY } from "../config/keys.js";
import { loadConfig, type ConfigIO } from "../config/load.js";
import type { ProviderId } from "../config/schema.js";
import { isConfigError } from "../errors.js";
import { createAnswers, type Answers } from "../fetch/answers.js";
import { createLifecycle, type FetchEvent, type Lifecycle } from "../fetch/lifecycle.js";
import { chooseLedger, createLedger } from "../ledger/create.js";
import { Notifier, type NotifySink } from "../notify/notifier.js";
import { stateFilePath } from "../state/paths.js";
import { stateIds } from "../state/ids.js";
import { nodeStateFs } from "../state/state-fs.js";
import { quotaFilePath, readingOf, readQuotaFile, writeQuotaReading } from "../quota/quota-file.js";
import { redisStateStore } from "../state/redis-state-store.js";
import type { StateStore } from "../state/state-store.js";
import { attachStateSync, type StateSync } from "../state/state-sync.js";
import type { Clock } from "../util/clock.js";
import type { Random } from "../util/random.js";
import { Redactor } from "../util/redact.js";

/** Everything from the outside world, injectable; real defaults in production. */
export interface EngineDeps {
  clock: Clock;
  random: Random;
  fetch: typeof globalThis.fetch;
  io: ConfigIO;
  sink: NotifySink;
  onEvent?: (event: FetchEvent) => void;
}

/**
 * The core one process runs per provider and keys file, whatever host drives it: configuration loaded once,
 * the request lifecycle (keys, slots, classifier, reactions), notifications, the redactor, shared state.
 * Hosts are thin adapters over `lifecycle` (src/hosts/).
 */
export interface Engine {
  readonly provider: ProviderId;
  /** Undefined when the configuration is unusable: then `refusal` answers every request. */
  readonly lifecycle: Lifecycle | undefined;
  readonly refusal: (() => Response) | undefined;
  readonly notifier: Notifier;
  readonly redactor: Redactor;
  readonly answers: Answers;
  /** Persists what was learned now (awaited before an answer that changed something). */
  persist(): Promise<void>;
  close(): Promise<void>;
}

/** Loads the configuration and builds the core. Never throws: a broken configuration becomes a refusal. */
export async function createEngine(provider: ProviderId, deps: EngineDeps, authKey: string | undefined): Promise<Engine> {
  const redactor = new Redactor(authKey && authKey !== PLACEHOLDER_KEY ? [authKey] : []);
  const answers = createAnswers(redactor);
  const notifierWith = (toasts: boolean, intervalMs: number) => new Notifier({ clock: deps.clock, sink: deps.sink, redactor, toasts, intervalMs });
  const refusing = (notifier: Notifier, message: string): Engine => {
    notifier.toast("config", message, "error");
    const refusal = () => answers.giveUp(400, "config_invalid", message);
    return { provider, lifecycle: undefined, refusal, notifier, redactor, answers, persist: async () => {}, close: async () => {} };
  };
  let loaded;
  try {
    loaded = await loadConfig(deps.io, provider, authKey);
  } catch (error) {
    const message = isConfigError(error) ? `Z.AI keys configuration is invalid: ${error.message}` : `Z.AI keys could not be loaded: ${String(error)}`;
    return refusing(notifierWith(true, 0), message);
  }
  redactor.add(loaded.keys.map((k) => k.apiKey));
  const { notifications } = loaded.settings;
  const notifier = notifierWith(notifications.toasts, notifications.intervalMs);
  for (const warning of loaded.warnings) notifier.toast("config", warning, "warning");
  if (loaded.keys.length === 0) {
    return refusing(
      notifier,
      `no API keys for ${provider}: set ZAI_API_KEYS, or list keys in ${loaded.keysFile}, or store a real key with \`opencode providers login --provider ${provider}\`.`,
    );
  }
  const accounts = new Set(loaded.keys.map((k) => k.account)).size;
  notifier.log("info", `${provider}: ${loaded.keys.length} key(s) in ${accounts} account(s) from ${loaded.keySource === "file" ? loaded.keysFile : loaded.keySource}`);
  const statePath = stateFilePath(deps.io.env, deps.io.homedir);
  // Slots shared by every OpenCode process of the user on this machine, or through Redis (docs/ledger.md).
  const ledgerChoice = chooseLedger(deps.io.env, deps.io.homedir, statePath, provider, loaded.settings.redis);
  const ledger = await createLedger(ledgerChoice, {
    clock: deps.clock,
    onWarning: (message) => notifier.log("warn", redactor.redact(message)),
  });
  let sync: StateSync | undefined;
  let shared: StateSync | undefined;
  // Never waits for another process's state-file lock: then a background sync writes it a moment later.
  const persist = () => Promise.all([sync?.syncSoon(), shared?.syncSoon()]).then(() => {});
  const ids = stateIds(loaded.keys);
  let quotaWrites = Promise.resolve();
  const lifecycle = createLifecycle({
    ledger,
    // Other processes share the accounts: start round-robin somewhere else than they probably did.
    rotationStart: ledger.kind === "local" ? 0 : Math.floor(deps.random() * 1_000_000),
    provider,
    keys: loaded.keys,
    settings: loaded.settings,
    clock: deps.clock,
    random: deps.random,
    fetch: deps.fetch,
    notifier,
    redactor,
    answers,
    // Written as soon as something is learned, not only every 2 s: `opencode run` exits right after answering.
    persist,
    quotaFetch: deps.fetch,
    // Quota readings for `status`, beside the state file (issue 12).
    onQuota: (account, reading, sessions, pace) => {
      if (statePath === undefined) return;
      // One write at a time, so two accounts' readings do not overwrite each other.
      quotaWrites = quotaWrites
        .then(() => writeQuotaReading(nodeStateFs, quotaFilePath(statePath), provider, ids.storedAccount(account), reading, sessions, pace))
        .catch((error: unknown) => notifier.log("debug", `quota file not written: ${error instanceof Error ? error.message : String(error)}`));
    },
    ...(deps.onEvent ? { onEvent: deps.onEvent } : {}),
  });
  // Quota readings other processes took lately: this one's first requests are routed with them (every `opencode
  // run` is a fresh process, and its own first reading answers only after its first request was placed).
  if (statePath !== undefined && loaded.settings.quota.enabled) {
    const known = (await readQuotaFile(nodeStateFs, quotaFilePath(statePath))).providers[provider] ?? {};
    for (const account of new Set(loaded.keys.map((k) => k.account))) {
      const entry = known[ids.storedAccount(account)];
      if (entry) lifecycle.foresight.poller.seed(account, readingOf(entry));
    }
  }
  // Cooldowns, disabled keys, unavailable models and learned limits, shared with other OpenCode processes: on this
  // machine through the state file, and with other machines through Redis when it is configured.
  const stateSync = (where: { path: string | undefined } | { path: undefined; store: StateStore }, onWritten?: () => void) =>
    attachStateSync({
      provider,
      pool: lifecycle.pool,
      limits: lifecycle.limits,
      keys: loaded.keys,
      clock: deps.clock,
      ...where,
      redact: (text) => redactor.redact(text),
      onWarning: (message) => notifier.log("warn", redactor.redact(message)),
      onChange: () => lifecycle.scheduler.wakeAt(deps.clock.now()),
      ...(onWritten ? { onWritten } : {}),
    });
  // What this process writes to the state file, the others on the machine hear of over the ledger.
  sync = await stateSync({ path: statePath }, () => ledger.announceState());
  // Another process on this machine wrote the state file: read it now, not at the next round.
  ledger.onStateAnnounced(() => void sync?.syncSoon());
  if (ledgerChoice.kind === "redis" && ledgerChoice.redisUrl) {
    shared = await stateSync({ path: undefined, store: redisStateStore({ url: ledgerChoice.redisUrl, prefix: ledgerChoice.redisPrefix }) });
  }
  return {
    provider,
    lifecycle,
    refusal: undefined,
    notifier,
    redactor,
    answers,
    persist,
    close: async () => {
      lifecycle.scheduler.close();
      lifecycle.foresight.close();
      await sync?.close();
      await shared?.close();
      await ledger.close();
    },
  };
}
