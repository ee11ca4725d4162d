import type { Engine, ReadyEngine } from "../../src/engine/engine.js";

/** The engine, which the test expects to be ready (its configuration usable). */
export function ready(engine: Engine): ReadyEngine {
  if (engine.kind !== "ready") throw new Error("the engine refused its configuration");
  return engine;
}
