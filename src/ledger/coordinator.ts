import type { Server, Socket } from "node:net";
import type { SharedLimit } from "./ledger.js";
import { onGone, readMessages, send, type ClientMessage, type ServerMessage } from "./protocol.js";
import type { ListeningServer } from "./election.js";
import type { SlotTable, TableWaiter } from "./slot-table.js";

/** How long the slots of a process whose connection closed stay taken (see `gone`). */
export const DEAD_HOLDER_GRACE_MS = 500;

interface Remote {
  socket: Socket;
  owner: string | undefined;
  waiters: Map<string, { cands: string[]; caps: Record<string, number> }>;
}

export interface CoordinatorHooks {
  /** A limit learned by another process arrived; true when it was taken (then it is forwarded to the rest). */
  onLimit(limit: SharedLimit): boolean;
  /** Every limit known here, sent to a process when it joins. */
  limits(): SharedLimit[];
  /** The slots this process holds itself, told to every process that joins (then each change, by `broadcast`). */
  own(): Array<{ id: string; account: string; model: string }>;
  /** This process's owner id (first in the peers list). */
  owner: string;
  /** A process re-registered everything it holds. */
  onReady(owner: string): void;
  /** A process announced a state-file change (also forwarded to the rest). */
  onState(): void;
}

/**
 * The machine ledger's coordinator: the process that bound the socket serves the others on it. Their slots and
 * waiters go into the same table as its own; a closed connection frees that process's slots at once.
 */
export class Coordinator {
  private readonly remotes = new Set<Remote>();
  private abandoned = false;

  readonly server: Server;

  constructor(
    listening: ListeningServer,
    private readonly table: SlotTable,
    private readonly hooks: CoordinatorHooks,
  ) {
    this.server = listening.server;
    listening.accept((socket) => this.accept(socket));
  }

  /** Sends a limit learned in this process to every other process. */
  broadcast(message: ServerMessage, except?: Remote): void {
    for (const remote of this.remotes)
      if (remote !== except && remote.owner !== undefined) send(remote.socket, message);
  }

  get connections(): number {
    return this.remotes.size;
  }

  /**
   * Stops serving without closing the server: closing unlinks the socket path, which now belongs to another
   * coordinator (ours was replaced). The clients re-elect and find that one.
   */
  abandon(): void {
    this.abandoned = true;
    for (const remote of this.remotes) remote.socket.destroy();
  }

  /** Stops serving; resolves when the server is closed, or after a second at most. */
  close(): Promise<void> {
    // A connection accepted while closing would be left to a dead coordinator: turned away, it re-elects.
    this.abandoned = true;
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      timer.unref?.();
      // Closing first: Node unlinks the socket file at once, before any client, told below, re-elects and binds its
      // own.
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      for (const remote of this.remotes) remote.socket.destroy();
    });
  }

  /** Tells every process who is on the ledger, so a successor knows whom to wait for. */
  private announcePeers(): void {
    const owners = [this.hooks.owner, ...[...this.remotes].flatMap((r) => (r.owner === undefined ? [] : [r.owner]))];
    this.broadcast({ t: "peers", owners });
  }

  private accept(socket: Socket): void {
    if (this.abandoned) return void socket.destroy();
    socket.unref();
    socket.setNoDelay?.(true);
    const remote: Remote = { socket, owner: undefined, waiters: new Map() };
    this.remotes.add(remote);
    readMessages<ClientMessage>(socket, (message) => this.handle(remote, message));
    const gone = () => {
      if (!this.remotes.delete(remote)) return;
      const owner = remote.owner;
      if (owner !== undefined) {
        // Its waiters go now; its slots a moment later: a process that exits or dies mid-stream closes its upstream
        // connection at the same instant, and Z.AI may count that stream a little longer (as after a cancel).
        this.table.dropWaiters(owner);
        const timer = setTimeout(() => this.table.dropOwner(owner), DEAD_HOLDER_GRACE_MS);
        timer.unref?.();
      }
      this.announcePeers();
    };
    onGone(socket, gone);
  }

  private handle(remote: Remote, message: ClientMessage): void {
    switch (message.t) {
      case "hello":
        remote.owner = message.owner;
        this.table.setOwner(message.owner, { pid: message.pid, host: message.host });
        for (const limit of this.hooks.limits()) send(remote.socket, { t: "limit", ...limit });
        for (const lease of this.hooks.own()) send(remote.socket, { t: "own", ...lease });
        this.announcePeers();
        return;
      case "ping": {
        const leases = this.table.owned();
        const busy = new Set(leases.map(([owner]) => owner));
        for (const other of this.remotes)
          if (other.owner !== undefined && other.waiters.size > 0) busy.add(other.owner);
        send(remote.socket, { t: "pong", by: this.hooks.owner, leases, busy: [...busy] });
        return;
      }
      case "snap":
        send(remote.socket, { t: "snap", id: message.id, pid: process.pid, pairs: this.table.status() });
        return;
      case "state":
        this.hooks.onState();
        this.broadcast({ t: "state" }, remote);
        return;
      case "limit": {
        const limit = { account: message.account, model: message.model, state: message.state };
        if (this.hooks.onLimit(limit)) this.broadcast({ t: "limit", ...limit }, remote);
        return;
      }
    }
    const owner = remote.owner;
    if (owner === undefined) return;
    switch (message.t) {
      case "ready":
        this.hooks.onReady(owner);
        return;
      case "acq": {
        const values = { cands: message.cands, caps: message.caps };
        remote.waiters.set(message.id, values);
        const waiter: TableWaiter = {
          id: `${owner}/${message.id}`,
          owner,
          model: message.model,
          at: message.at,
          seq: message.seq,
          candidates: () => values.cands,
          cap: (account) => values.caps[account] ?? 0,
          grant: (account, others) => {
            remote.waiters.delete(message.id);
            send(remote.socket, { t: "grant", id: message.id, account, others });
          },
          reject: () => {
            remote.waiters.delete(message.id);
            send(remote.socket, { t: "nocand", id: message.id });
          },
        };
        this.table.acquire(waiter);
        return;
      }
      case "upd": {
        const values = remote.waiters.get(message.id);
        if (!values) return;
        values.cands = message.cands;
        values.caps = message.caps;
        this.table.changed(`${owner}/${message.id}`);
        return;
      }
      case "cancel":
        remote.waiters.delete(message.id);
        this.table.cancel(`${owner}/${message.id}`);
        return;
      case "hold":
        this.table.hold(`${owner}/${message.id}`, owner, message.account, message.model);
        return;
      case "rel":
        this.table.release(`${owner}/${message.id}`);
        return;
    }
  }
}
