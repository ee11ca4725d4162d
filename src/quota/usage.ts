/** What one answer used, as Z.AI reports it in `usage` (JSON body, or the last chunk of a stream). */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** `prompt_tokens_details.cached_tokens` (0 when absent). */
  cachedTokens: number;
}
