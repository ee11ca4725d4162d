import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { acceptsLimit } from "../../src/ledger/ledger.js";
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

describe("which published limit the ledger takes", () => {
  const state = (limit: number, epoch: number) => ({
    limit,
    ceiling: 10,
    streak: 0,
    epoch,
    confirmed: limit,
    probeFrom: undefined,
    probeAfter: 20,
    recoverTo: undefined,
    changedAt: 0,
  });
  it("lower or equal always; a raise only one step and from a later epoch", () => {
    expect(acceptsLimit(undefined, state(10, 0))).toBe(true);
    expect(acceptsLimit(state(3, 5), state(2, 1))).toBe(true); // another process's lineage learned lower: taken
    expect(acceptsLimit(state(3, 5), state(3, 0))).toBe(true);
    expect(acceptsLimit(state(3, 5), state(4, 6))).toBe(true); // a try one higher by a process that saw epoch 5
    expect(acceptsLimit(state(3, 5), state(4, 5))).toBe(false); // a try refused meanwhile, re-published
    expect(acceptsLimit(state(3, 5), state(10, 9))).toBe(false); // still on the configured limit
  });
});
