/** The library API, for tools and tests. Not loaded by OpenCode (which calls every export of the main entry). */
export { createProviderPlugin, SERVICE, AUTH_METHOD_LABEL, type PluginDeps } from "./hosts/opencode-v1.js";
export { createEngine, type Engine, type EngineDeps, type ReadyEngine, type RefusedEngine } from "./engine/engine.js";
export { createCore, type CoreDeps } from "./engine/core.js";
export { EngineRegistry, processEngines } from "./engine/registry.js";
export { createZaiFetch, type ZaiFetch, type ZaiFetchDeps, type FetchEvent } from "./engine/zai-fetch.js";
export {
  createLifecycle,
  type Core,
  type Lifecycle,
  type LifecycleDeps,
  type Attempt,
  type Start,
} from "./fetch/lifecycle.js";
export { createAnswers, CODE_HEADER, MESSAGE_PREFIX, type Answers, type PluginErrorCode } from "./fetch/answers.js";
export { classify, CODE_RULES, isCodingEndpoint, type Answer } from "./classify/classify.js";
export type { Verdict, VerdictKind } from "./classify/verdict.js";
export { parseUpstreamError, parseSseError, type UpstreamError } from "./classify/parse.js";
export { parseResetTime } from "./classify/reset-time.js";
export {
  loadConfig,
  parseKeysFile,
  keysFilePath,
  ENV_KEYS_VARIABLE,
  type ConfigIO,
  type LoadedConfig,
} from "./config/load.js";
export { nodeConfigIO } from "./config/node-io.js";
export { PLACEHOLDER_KEY, type ApiKey } from "./config/keys.js";
export {
  keysFileSchema,
  DEFAULT_MODEL_LIMITS,
  DEFAULT_OTHER_MODEL_LIMIT,
  PROVIDERS,
  type KeysFile,
  type KeysFileInput,
  type Settings,
  type ProviderId,
} from "./config/schema.js";
export { ConfigError, isConfigError } from "./errors.js";
export { Notifier, type NotifySink } from "./notify/notifier.js";
export { systemClock, type Clock } from "./util/clock.js";
export { systemRandom, type Random } from "./util/random.js";
export { fingerprint, redact, Redactor } from "./util/redact.js";
export { backoffDelay } from "./retry/backoff.js";
export {
  attachStateSync,
  DEFAULT_SYNC_INTERVAL_MS,
  type StateSync,
  type StateSyncOptions,
} from "./state/state-sync.js";
export { stateFilePath, STATE_FILE_OFF } from "./state/paths.js";
export { mergeState, pruneState, DISABLED_TTL_MS, LIMIT_TTL_MS } from "./state/merge.js";
export { readStateFile, updateStateFile, writeStateFile, type ReadResult } from "./state/store.js";
export { stateIds, type StateIds } from "./state/ids.js";
export { resolveResetScope, withResetMarkers, type ResetScope } from "./state/reset.js";
export { emptyProviderState, emptyStateFile, type ProviderState, type StateFile } from "./state/state-schema.js";
export { nodeStateFs, type StateFs } from "./state/state-fs.js";
export { StateFileError, StateLockTimeoutError } from "./state/errors.js";
