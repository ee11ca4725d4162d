import type { LeaseOutcome } from "../classify/outcomes.js";
import type { UsageTap } from "./usage-tap.js";

/**
 * A response body that streams `head` then the rest of `reader`, and calls `done` exactly once: `completed` when
 * read to its end, `cancelled` when the reader cancelled it or `signal` aborted, `failed` when it errored.
 * Nothing is buffered; `tap` (when given) sees each chunk pass and the end of a stream read whole.
 */
export function releasingBody(
  head: readonly Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
  done: (outcome: Extract<LeaseOutcome, "completed" | "cancelled" | "failed">) => void,
  signal: AbortSignal | undefined,
  tap?: UsageTap,
): ReadableStream<Uint8Array> {
  let finished = false;
  const finish = (outcome: "completed" | "cancelled" | "failed") => {
    if (finished) return;
    finished = true;
    signal?.removeEventListener("abort", onAbort);
    done(outcome);
  };
  const onAbort = () => {
    reader.cancel(signal?.reason).catch(() => {});
    finish("cancelled");
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  let index = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (index < head.length) {
        const chunk = head[index++]!;
        tap?.chunk(chunk);
        controller.enqueue(chunk);
        return;
      }
      try {
        const { done: end, value } = await reader.read();
        if (end) {
          finish("completed");
          tap?.end();
          controller.close();
        } else {
          tap?.chunk(value);
          controller.enqueue(value);
        }
      } catch (error) {
        finish(signal?.aborted ? "cancelled" : "failed");
        controller.error(error);
      }
    },
    cancel(reason) {
      finish("cancelled");
      return reader.cancel(reason);
    },
  });
}
