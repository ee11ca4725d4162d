/** What an upstream answer means for the request and for the key pool. Produced by `classify`. */
export type Verdict =
  /** Success: hand the response to the caller. */
  | { kind: "ok" }
  /** 401, 1000–1004: this key is bad. Disable it for the process, retry on another key. */
  | { kind: "key-invalid"; code: string | undefined; message: string }
  /** 1110–1112, 1120, 1121, 1309: the whole account is unusable. Disable its keys, retry elsewhere. */
  | { kind: "account-unusable"; code: string; message: string }
  /**
   * 1302: the account's concurrency limit for this model. Lower it, hold the account back, retry (any free account).
   */
  | { kind: "concurrency"; code: string; message: string }
  /** 1303, 1305, 1234, 5xx, network errors: back off with jitter, retry, preferring another account. */
  | {
      kind: "transient";
      code: string | undefined;
      message: string;
      retryAfterMs: number | undefined;
      accountWide: boolean;
    }
  /** A 429 naming no known code: cool this key (Retry-After or cooldownMs), retry on the next key. */
  | { kind: "key-rate-limited"; code: string | undefined; message: string; retryAfterMs: number | undefined }
  /** 1308, 1310: the account's usage window is spent. Cool the account until `resetAt`, other accounts serve. */
  | { kind: "usage-window"; code: string; message: string; resetAt: number | undefined }
  /**
   * 1113, 1311: the model is not in this account's plan (or the endpoint is wrong). Mark (account, model), try another
   * account.
   */
  | { kind: "model-unavailable"; code: string; message: string; wrongEndpoint: boolean }
  /** 1211, 1313: nothing will fix it by retrying. Fail fast, no rotation. */
  | { kind: "fatal"; code: string; message: string; reason: "unknown-model" | "fair-use" }
  /** Any other answer (4xx caller errors such as 1210, 1214, 1261, 1301): return as is. */
  | { kind: "pass" };

export type VerdictKind = Verdict["kind"];
