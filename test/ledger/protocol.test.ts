import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { onGone } from "../../src/ledger/protocol.js";

/** A socket as far as onGone sees it: events and destroy. */
function fakeSocket(): Socket & { destroyed: boolean } {
  const socket = new EventEmitter() as unknown as Socket & { destroyed: boolean };
  socket.destroyed = false;
  socket.destroy = () => {
    socket.destroyed = true;
    return socket;
  };
  return socket;
}

describe("ledger connection end", () => {
  it("an 'end' without 'close' (Bun 1.3 after a write to a dead peer) counts as gone, once, and destroys the socket", () => {
    for (const events of [["end"], ["close"], ["error"], ["end", "close"], ["error", "close", "end"]]) {
      const socket = fakeSocket();
      let gone = 0;
      onGone(socket, () => gone++);
      for (const event of events) socket.emit(event, event === "error" ? new Error("EPIPE") : undefined);
      expect({ events, gone, destroyed: socket.destroyed }).toEqual({ events, gone: 1, destroyed: true });
    }
  });
});
