import type { NotifySink } from "../../src/lib.js";

/** Records every toast and log line the plugin emits. */
export function recordingSink(options: { failing?: boolean } = {}) {
  const toasts: Array<{ title: string; message: string; variant: string }> = [];
  const logs: Array<{ level: string; message: string; extra?: Record<string, unknown> }> = [];
  const sink: NotifySink = {
    toast: (t) => {
      toasts.push(t);
      if (options.failing) throw new Error("toast API unavailable");
    },
    log: (l) => {
      logs.push(l);
      if (options.failing) return Promise.reject(new Error("log API unavailable"));
    },
  };
  return { sink, toasts, logs };
}

/** A PluginInput.client stand-in with the two calls the plugin makes. */
export function fakeClient(sink: NotifySink) {
  return {
    tui: {
      showToast: (o: { body: { title: string; message: string; variant: "info" | "success" | "warning" | "error" } }) =>
        sink.toast(o.body),
    },
    app: {
      log: (o: {
        body: { level: "debug" | "info" | "warn" | "error"; message: string; extra?: Record<string, unknown> };
      }) => sink.log(o.body),
    },
  };
}
