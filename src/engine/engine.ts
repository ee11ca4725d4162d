import { keysFromLogin, loginCredential, type LoginCredential } from "../config/login-keys.js";
import { loadConfig, type ConfigIO } from "../config/load.js";
import type { ProviderId } from "../config/schema.js";
import { isConfigError } from "../errors.js";
import { createAnswers, type Answers } from "../fetch/answers.js";
import { createLifecycle, type Core, type FetchEvent, type Lifecycle } from "../fetch/lifecycle.js";
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
import { createCore } from "./core.js";
import { Redactor } from "../util/redact.js";
import { eventRecorder } from "./event-record.js";
import { loginCheck } from "./login-check.js";

/** Everything from the outside world, injectable; real defaults in production. */
export interface EngineDeps {
  clock: Clock;
  random: Random;
  fetch: typeof globalThis.fetch;
  io: ConfigIO;
  sink: NotifySink;
  onEvent?: (event: FetchEvent) => void;
}

interface EngineBase {
  readonly provider: ProviderId;
  readonly notifier: Notifier;
  readonly redactor: Redactor;
  readonly answers: Answers;
  /**
   * Called with each request's URL: the first one after `opencode providers login` checks the stored keys once
   * (src/engine/login-check.ts). Resolves when that check is done.
   */
  checkLogin(url: string): Promise<void>;
  /** Persists what was learned now (awaited before an answer that changed something). */
  persist(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The core one process runs per provider and keys file, whatever host drives it: configuration loaded once, the
 * core (keys, limits, slots, foresight) built once, the request loop over it, notifications, the redactor, shared
 * state. Hosts are thin adapters over `lifecycle` (src/hosts/).
 */
export interface ReadyEngine extends EngineBase {
  readonly kind: "ready";
  readonly core: Core;
  readonly lifecycle: Lifecycle;
}

/** The configuration is unusable: every request gets `refusal()`, which says why. */
export interface RefusedEngine extends EngineBase {
  readonly kind: "refused";
  refusal(): Response;
}

export type Engine = ReadyEngine | RefusedEngine;

/** Loads the configuration and builds the core. Never throws: a broken configuration becomes a refusal. */
export async function createEngine(
  provider: ProviderId,
  deps: EngineDeps,
  auth: string | LoginCredential | undefined,
): Promise<Engine> {
  const credential = loginCredential(auth);
  // Every key in the stored credential is a secret, whether or not another source's keys are used.
  const redactor = new Redactor(credential ? keysFromLogin(credential, provider).keys.map((k) => k.apiKey) : []);
  const answers = createAnswers(redactor);
  const statePath = stateFilePath(deps.io.env, deps.io.homedir);
  // The last events, for `status --watch` (not when state is in memory only).
  const recorder =
    statePath === undefined
      ? undefined
      : eventRecorder({ fs: nodeStateFs, statePath, provider, clock: deps.clock, pid: process.pid });
  const sink = recorder ? recorder.sink(deps.sink) : deps.sink;
  const notifierWith = (toasts: boolean, intervalMs: number) =>
    new Notifier({ clock: deps.clock, sink, redactor, toasts, intervalMs });
  const refusing = (notifier: Notifier, message: string): Engine => {
    notifier.toast("config", message, "error");
    const refusal = () => answers.giveUp(400, "config_invalid", message);
    const nothing = async () => {};
    const idle = { checkLogin: nothing, persist: nothing, close: nothing };
    return { kind: "refused", provider, refusal, notifier, redactor, answers, ...idle };
  };
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig(deps.io, provider, credential);
  } catch (error) {
    const message = isConfigError(error)
      ? `Z.AI keys configuration is invalid: ${error.message}`
      : `Z.AI keys could not be loaded: ${String(error)}`;
    return refusing(notifierWith(true, 0), message);
  }
  redactor.add(loaded.keys.map((k) => k.apiKey));
  const { notifications } = loaded.settings;
  const notifier = notifierWith(notifications.toasts, notifications.intervalMs);
  for (const warning of loaded.warnings) notifier.toast("config", warning, "warning");
  if (loaded.keys.length === 0) {
    return refusing(
      notifier,
      `no API keys for ${provider}: run \`opencode providers login --provider ${provider}\` and paste your keys, ` +
        `or list them in ${loaded.keysFile}, or set ZAI_API_KEYS.`,
    );
  }
  const accounts = new Set(loaded.keys.map((k) => k.account)).size;
  notifier.log(
    "info",
    `${provider}: ${loaded.keys.length} key(s) in ${accounts} account(s) from ` +
      `${loaded.keySource === "file" ? loaded.keysFile : loaded.keySource}`,
  );
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
  // Lifecycle events go to the host's listener and to the last-events record `status --watch` shows.
  const listeners = [recorder?.onEvent, deps.onEvent].filter((l) => l !== undefined);
  const onEvent =
    listeners.length === 0
      ? {}
      : {
          onEvent: (event: FetchEvent) => {
            for (const listener of listeners) listener(event);
          },
        };
  const core = createCore({
    ledger,
    // Other processes share the accounts: start round-robin somewhere else than they probably did.
    rotationStart: ledger.kind === "local" ? 0 : Math.floor(deps.random() * 1_000_000),
    keys: loaded.keys,
    settings: loaded.settings,
    clock: deps.clock,
    notifier,
    // Written as soon as something is learned, not only every 2 s: `opencode run` exits right after answering.
    persist,
    ...onEvent,
    quotaFetch: deps.fetch,
    // Quota readings for `status`, beside the state file (issue 12).
    onQuota: (account, reading, sessions, pace) => {
      if (statePath === undefined) return;
      // One write at a time, so two accounts' readings do not overwrite each other.
      quotaWrites = quotaWrites
        .then(() =>
          writeQuotaReading(
            nodeStateFs,
            quotaFilePath(statePath),
            provider,
            ids.storedAccount(account),
            reading,
            sessions,
            pace,
          ),
        )
        .catch((error: unknown) =>
          notifier.log("debug", `quota file not written: ${error instanceof Error ? error.message : String(error)}`),
        );
    },
  });
  const { settings } = loaded;
  const { clock, random, fetch } = deps;
  const lifecycle = createLifecycle({
    provider,
    core,
    settings,
    clock,
    random,
    fetch,
    notifier,
    redactor,
    answers,
    persist,
    ...onEvent,
  });
  // Quota readings other processes took lately: this one's first requests are routed with them (every `opencode
  // run` is a fresh process, and its own first reading answers only after its first request was placed).
  if (statePath !== undefined && loaded.settings.quota.enabled) {
    const known = (await readQuotaFile(nodeStateFs, quotaFilePath(statePath))).providers[provider] ?? {};
    for (const account of new Set(loaded.keys.map((k) => k.account))) {
      const entry = known[ids.storedAccount(account)];
      if (entry) core.foresight.poller.seed(account, readingOf(entry));
    }
  }
  // Cooldowns, disabled keys, unavailable models and learned limits, shared with other OpenCode processes: on this
  // machine through the state file, and with other machines through Redis when it is configured.
  const stateSync = (
    where: { path: string | undefined } | { path: undefined; store: StateStore },
    onWritten?: () => void,
  ) =>
    attachStateSync({
      provider,
      pool: core.pool,
      limits: core.limits,
      keys: loaded.keys,
      clock: deps.clock,
      ...where,
      redact: (text) => redactor.redact(text),
      onWarning: (message) => notifier.log("warn", redactor.redact(message)),
      onChange: () => core.leases.wakeAt(deps.clock.now()),
      ...(onWritten ? { onWritten } : {}),
    });
  // What this process writes to the state file, the others on the machine hear of over the ledger.
  sync = await stateSync({ path: statePath }, () => ledger.announceState());
  // Another process on this machine wrote the state file: read it now, not at the next round.
  ledger.onStateAnnounced(() => void sync?.syncSoon());
  if (ledgerChoice.kind === "redis" && ledgerChoice.redisUrl) {
    shared = await stateSync({
      path: undefined,
      store: redisStateStore({ url: ledgerChoice.redisUrl, prefix: ledgerChoice.redisPrefix }),
    });
  }
  const login =
    credential && loaded.keySource === "auth"
      ? loginCheck({ provider, keys: loaded.keys, credential, statePath, fs: nodeStateFs, ...deps, notifier })
      : undefined;
  return {
    kind: "ready",
    provider,
    core,
    lifecycle,
    notifier,
    redactor,
    answers,
    checkLogin: (url) => login?.start(url) ?? Promise.resolve(),
    persist,
    close: async () => {
      core.close();
      await sync?.close();
      await shared?.close();
      await ledger.close();
    },
  };
}
