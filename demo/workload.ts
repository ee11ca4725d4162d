/** The demo's team of subagents: each sends its requests one after another, like an agent turn loop. */

export interface Job {
  agent: number;
  step: number;
  model: string;
}

/** 16 agents × 6 steps; mostly glm-4.7, some glm-5.3-flash, a few glm-5.3 (not in beta's plan). */
export function subagentTeam(agents = 16, steps = 6): Job[][] {
  const models = ["glm-4.7", "glm-4.7", "glm-5.3-flash", "glm-4.7", "glm-5.3"];
  return Array.from({ length: agents }, (_, agent) =>
    Array.from({ length: steps }, (_, step) => ({ agent, step, model: models[(agent + step) % models.length]! })),
  );
}

export function chatBody(model: string): string {
  return JSON.stringify({ model, messages: [{ role: "user", content: "refactor this function" }], stream: true });
}
