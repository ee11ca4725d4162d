/**
 * A response body that streams `head` then the rest of `reader`, and calls `done` exactly once when the
 * body has been read to its end, cancelled, has errored, or `signal` aborted. Nothing is buffered.
 */
export function releasingBody(
  head: readonly Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
  done: (outcome: "completed" | "other") => void,
  signal: AbortSignal | undefined,
): ReadableStream<Uint8Array> {
  let finished = false;
  const finish = (outcome: "completed" | "other") => {
    if (finished) return;
    finished = true;
    signal?.removeEventListener("abort", onAbort);
    done(outcome);
  };
  const onAbort = () => {
    reader.cancel(signal?.reason).catch(() => {});
    finish("other");
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  let index = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (index < head.length) {
        controller.enqueue(head[index++]!);
        return;
      }
      try {
        const { done: end, value } = await reader.read();
        if (end) {
          finish("completed");
          controller.close();
        } else {
          controller.enqueue(value);
        }
      } catch (error) {
        finish("other");
        controller.error(error);
      }
    },
    cancel(reason) {
      finish("other");
      return reader.cancel(reason);
    },
  });
}
