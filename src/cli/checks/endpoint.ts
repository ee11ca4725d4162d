import { isCodingEndpoint } from "../../classify/classify.js";
import type { ProviderId } from "../../config/schema.js";
import type { Check } from "../report.js";
import type { DoctorFacts } from "./types.js";

export const DEFAULT_BASE_URL: Record<ProviderId, string> = {
  "zai-coding-plan": "https://api.z.ai/api/coding/paas/v4",
  "zhipuai-coding-plan": "https://open.bigmodel.cn/api/coding/paas/v4",
};
const PROVIDER_HOST: Record<ProviderId, string> = { "zai-coding-plan": "z.ai", "zhipuai-coding-plan": "bigmodel.cn" };
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** The endpoint OpenCode will call: a Coding Plan endpoint on the provider's host. */
export function endpointCheck({ setup }: DoctorFacts): Check {
  const { baseURL, provider } = setup;
  if (!baseURL)
    return {
      id: "endpoint",
      level: "ok",
      message: `endpoint: OpenCode's default for ${provider} (${DEFAULT_BASE_URL[provider]})`,
    };
  const fix =
    `set baseURL to ${DEFAULT_BASE_URL[provider]} (or .../api/anthropic), or remove the override from ` +
    `${baseURL.path}`;
  let url: URL;
  try {
    url = new URL(baseURL.value);
  } catch {
    return {
      id: "endpoint",
      level: "fail",
      message: `baseURL "${baseURL.value}" in ${baseURL.path} is not a URL`,
      fix,
    };
  }
  if (LOCAL_HOSTS.has(url.hostname)) {
    return {
      id: "endpoint",
      level: "info",
      message: `baseURL ${baseURL.value} (in ${baseURL.path}) is a local server: fine for tests, not for real use`,
    };
  }
  if (!isCodingEndpoint(url.pathname)) {
    return {
      id: "endpoint",
      level: "fail",
      message:
        `baseURL ${baseURL.value} (in ${baseURL.path}) is not a Coding Plan endpoint: Coding Plan keys get 1113 ` +
        `"Insufficient balance" there`,
      fix,
    };
  }
  if (!url.hostname.endsWith(PROVIDER_HOST[provider])) {
    return {
      id: "endpoint",
      level: "warn",
      message: `baseURL ${baseURL.value} is not on ${PROVIDER_HOST[provider]}: ${provider} keys may not work there`,
      fix,
    };
  }
  return { id: "endpoint", level: "ok", message: `endpoint: ${baseURL.value} (from ${baseURL.path})` };
}
