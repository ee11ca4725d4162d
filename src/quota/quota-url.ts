/** Where an account's usage is read: `{origin}/api/monitor/usage/quota/limit`, origin of the chat base URL. */
export const QUOTA_PATH = "/api/monitor/usage/quota/limit";

export function quotaUrl(baseUrl: string): string {
  return `${new URL(baseUrl).origin}${QUOTA_PATH}`;
}

/**
 * Headers for the quota call. The raw key, no `Bearer`: api.z.ai accepts both, open.bigmodel.cn only the raw key.
 */
export function quotaHeaders(apiKey: string): Record<string, string> {
  return { authorization: apiKey, accept: "application/json", "accept-language": "en-US,en" };
}
