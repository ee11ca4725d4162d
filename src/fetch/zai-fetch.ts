import { Redactor } from "../util/redact.js";
import { createAnswers } from "./answers.js";
import { createLifecycle, type Lifecycle, type LifecycleDeps } from "./lifecycle.js";
import { normalizeRequest } from "./request.js";

export type { FetchEvent } from "./lifecycle.js";

/** What a fetch needs; the provider, redactor and answers default from the keys. */
export type ZaiFetchDeps = Omit<LifecycleDeps, "provider" | "redactor" | "answers"> & Partial<Pick<LifecycleDeps, "provider" | "redactor" | "answers">>;

export interface ZaiFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  readonly lifecycle: Lifecycle;
  readonly pool: Lifecycle["pool"];
  readonly leases: Lifecycle["leases"];
  readonly limits: Lifecycle["limits"];
}

/** The custom fetch OpenCode 1.x calls: normalizes what it was given and runs the request's whole lifecycle. */
export function createZaiFetch(deps: ZaiFetchDeps): ZaiFetch {
  const redactor = deps.redactor ?? new Redactor(deps.keys.map((k) => k.apiKey));
  const lifecycle = createLifecycle({ ...deps, provider: deps.provider ?? "zai-coding-plan", redactor, answers: deps.answers ?? createAnswers(redactor) });
  const zaiFetch = async (input: string | URL | Request, init?: RequestInit) => lifecycle.run(await normalizeRequest(input, init));
  return Object.assign(zaiFetch, { lifecycle, pool: lifecycle.pool, leases: lifecycle.leases, limits: lifecycle.limits });
}
