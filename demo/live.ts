/** Redraws a block of text in place on a terminal (or prints it every few seconds when piped). */
export interface LiveView {
  start(render: () => string): void;
  /** Stops and leaves the last frame on screen. */
  stop(): void;
}

export function createLiveView(out: NodeJS.WriteStream): LiveView {
  const tty = out.isTTY === true;
  let timer: NodeJS.Timeout | undefined;
  let render: (() => string) | undefined;
  let lastLines = 0;
  const draw = () => {
    if (!render) return;
    const frame = render();
    if (tty && lastLines > 0) out.write(`\x1b[${lastLines}A\x1b[J`);
    out.write(`${frame}\n`);
    lastLines = tty ? frame.split("\n").length : 0;
  };
  return {
    start(next) {
      render = next;
      lastLines = 0;
      draw();
      timer = setInterval(draw, tty ? 200 : 3000);
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      draw();
      render = undefined;
    },
  };
}
