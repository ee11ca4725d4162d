/**
 * The few OpenCode 2.x ("V2") plugin types this package needs, written by hand: the 2.x plugin package
 * (`@opencode/plugin`) is not on the registry. They mirror, in anomalyco/opencode:
 * - packages/plugin/src/promise/plugin.ts      (Plugin { id, setup }, Context, Cleanup)
 * - packages/plugin/src/promise/session.ts     (SessionHttpRequest, SessionHttpResponse, SessionRetry, Model.Ref)
 * - packages/plugin/src/promise/registration.ts (Registration { dispose })
 * - packages/schema/src/session-error.ts       (SessionError.Error { type, message, status? })
 * - packages/core/src/plugin/hooks.ts          (the third argument `{ providerID }` of `hook`)
 * Only the members used here are typed; everything else on the context is `unknown`.
 * Source reference: the shared OpenCode 2.x host notes (opencode-v2.md), sections 2 and 3.
 */

/** `Model.Ref` (packages/schema model): which model and provider a request is for. */
export interface V2ModelRef {
  readonly id: string;
  readonly providerID: string;
  readonly variant?: string;
}

export type V2RequestKind = "primary" | "compaction" | "title" | "generate";

/** session.ts `SessionHttpRequest`: replace or mutate `request`; the host sends whatever is left. */
export interface V2HttpRequestEvent {
  readonly sessionID: string;
  readonly agent: string;
  readonly model: V2ModelRef;
  readonly kind: V2RequestKind;
  request: Request;
}

/** session.ts `SessionHttpResponse`: `request` is the very object `http.request` left; replace `response`. */
export interface V2HttpResponseEvent {
  readonly sessionID: string;
  readonly agent: string;
  readonly model: V2ModelRef;
  readonly kind: V2RequestKind;
  readonly request: Request;
  response: Response;
}

/** session-error.ts `SessionError.Error`. */
export interface V2SessionError {
  readonly type: string;
  readonly message: string;
  readonly status?: number;
}

export type V2RetryDecision = { retry: false } | { retry: true; delay: number };

/** session.ts `SessionRetry`: the policy's proposal; a callback may set `decision` either way. */
export interface V2RetryEvent {
  readonly sessionID: string;
  readonly agent: string;
  readonly model: V2ModelRef;
  readonly error: V2SessionError;
  readonly attempt: number;
  decision: V2RetryDecision;
}

export interface V2SessionHookEvents {
  "http.request": V2HttpRequestEvent;
  "http.response": V2HttpResponseEvent;
  retry: V2RetryEvent;
}

/** registration.ts `Registration`. */
export interface V2Registration {
  readonly dispose: () => Promise<void>;
}

/** `ctx.session.hook` (registration.ts `Hooks` + hooks.ts `{ providerID }` filter). */
export type V2SessionHook = <Name extends keyof V2SessionHookEvents>(
  name: Name,
  callback: (event: V2SessionHookEvents[Name]) => Promise<void> | void,
  options?: { providerID?: string },
) => Promise<V2Registration>;

/** plugin.ts `Context`, reduced to what the adapter reads. 1.18.x also calls `setup` with no `session` at all. */
export interface V2Context {
  readonly options?: Readonly<Record<string, unknown>>;
  readonly location?: { readonly directory?: string };
  readonly session?: { readonly hook?: V2SessionHook };
  readonly [domain: string]: unknown;
}

/** plugin.ts `Cleanup`: awaited on unload/replace. */
export type V2Cleanup = () => Promise<void> | void;

/** plugin.ts `Plugin` (the `{ id, setup }` member of the default-export union; module.ts decodes it). */
export interface V2Plugin {
  readonly id: string;
  // biome-ignore lint/suspicious/noConfusingVoidType: the host's own signature (setup may return nothing)
  readonly setup: (ctx: V2Context) => Promise<V2Cleanup | void> | V2Cleanup | void;
}
