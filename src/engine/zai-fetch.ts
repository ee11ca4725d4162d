import { createAnswers } from "../fetch/answers.js";
import { createLifecycle, type Core, type Lifecycle, type LifecycleDeps } from "../fetch/lifecycle.js";
import { normalizeRequest } from "../fetch/request.js";
import { Redactor } from "../util/redact.js";
import { createCore, type CoreDeps } from "./core.js";

export type { FetchEvent } from "../fetch/lifecycle.js";

/** What a fetch needs: the core's and the loop's deps; the provider, redactor and answers default from the keys. */
export type ZaiFetchDeps = Omit<LifecycleDeps, "provider" | "redactor" | "answers" | "core"> &
  Partial<Pick<LifecycleDeps, "provider" | "redactor" | "answers">> &
  CoreDeps;

export interface ZaiFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  readonly lifecycle: Lifecycle;
  readonly core: Core;
  readonly pool: Core["pool"];
  readonly leases: Core["leases"];
  readonly limits: Core["limits"];
  readonly foresight: Core["foresight"];
}

/** A custom fetch over a core of its own (the library API; OpenCode 1.x gets the engine's: hosts/opencode-v1.ts). */
export function createZaiFetch(deps: ZaiFetchDeps): ZaiFetch {
  const redactor = deps.redactor ?? new Redactor(deps.keys.map((k) => k.apiKey));
  const core = createCore(deps);
  const answers = deps.answers ?? createAnswers(redactor);
  const lifecycle = createLifecycle({ ...deps, core, provider: deps.provider ?? "zai-coding-plan", redactor, answers });
  return overCore(lifecycle, core);
}

/** The fetch OpenCode 1.x calls, with the core's parts beside it for tools and tests. */
export function overCore(lifecycle: Lifecycle, core: Core, onRequest?: (url: string) => void): ZaiFetch {
  const zaiFetch = async (input: string | URL | Request, init?: RequestInit) => {
    const request = await normalizeRequest(input, init);
    onRequest?.(request.url);
    return lifecycle.run(request);
  };
  const { pool, leases, limits, foresight } = core;
  return Object.assign(zaiFetch, { lifecycle, core, pool, leases, limits, foresight });
}
