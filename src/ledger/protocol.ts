import type { Socket } from "node:net";
import type { LimitState } from "../limits/adaptive-limit.js";
import type { PairStatus } from "./ledger.js";

/** Newline-delimited JSON between the machine coordinator and the other processes. */
export type ClientMessage =
  | { t: "hello"; owner: string; pid: number; host: string }
  | { t: "acq"; id: string; model: string; cands: string[]; caps: Record<string, number>; at: number; seq: number }
  | { t: "upd"; id: string; cands: string[]; caps: Record<string, number> }
  | { t: "cancel"; id: string }
  | { t: "hold"; id: string; account: string; model: string }
  | { t: "rel"; id: string }
  | { t: "limit"; account: string; model: string; state: LimitState }
  | { t: "snap"; id: string }
  /** After a (re-)join: every slot this process holds has been sent. */
  | { t: "ready" }
  /** This process wrote something new to the state file (a cooldown, a disabled key): the others read it now. */
  | { t: "state" }
  /** Are you there? (sent while this process waits or holds slots; also an election's probe) */
  | { t: "ping" };

export type ServerMessage =
  | { t: "grant"; id: string; account: string; others: number }
  | { t: "nocand"; id: string }
  | { t: "limit"; account: string; model: string; state: LimitState }
  | { t: "snap"; id: string; pid: number; pairs: PairStatus[] }
  /** The processes on the ledger (the coordinator's own first): a successor waits for the others to re-register. */
  | { t: "peers"; owners: string[] }
  /** Another process wrote something new to the state file. */
  | { t: "state" }
  /**
   * The answer to `ping`: the coordinator's owner id, every lease it counts (`[owner, account, model, count]`) and
   * the processes holding or waiting for slots (a successor waits for them to re-register).
   */
  | { t: "pong"; by: string; leases: Array<[string, string, string, number]>; busy: string[] }
  /** The coordinator took a slot for itself / freed it: should it go silent, a successor keeps these counted. */
  | { t: "own"; id: string; account: string; model: string }
  | { t: "unown"; id: string };

/** Feeds every complete line received on `socket` to `onMessage`; lines that are not JSON objects are dropped. */
export function readMessages<T extends { t: string }>(socket: Socket, onMessage: (message: T) => void): void {
  let buffer = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    buffer += chunk;
    let newline = buffer.indexOf("\n");
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf("\n");
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        continue;
      }
      if (typeof message === "object" && message !== null && typeof (message as { t?: unknown }).t === "string")
        onMessage(message as T);
    }
  });
}

export function send(socket: Socket, message: ClientMessage | ServerMessage): void {
  if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(message)}\n`);
}

/**
 * Calls `gone` once when the other side of the connection is gone, and destroys the socket. 'close' alone is not
 * enough: Bun 1.3 (inside OpenCode 1.18) emits only 'end', never 'close' nor 'error', when this side wrote to the
 * connection after the peer died but before the end was read (measured with a write during a busy loop). A client
 * would wait forever on a dead coordinator, and a coordinator would keep a dead holder's slots.
 */
export function onGone(socket: Socket, gone: () => void): void {
  let done = false;
  const end = () => {
    if (done) return;
    done = true;
    socket.destroy();
    gone();
  };
  socket.once("end", end);
  socket.once("close", end);
  socket.on("error", end);
}
