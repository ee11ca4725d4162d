import type { Socket } from "node:net";
import { hostname } from "node:os";
import type { Clock } from "../util/clock.js";
import type { LedgerStatus, SharedLimit } from "./ledger.js";
import { onGone, readMessages, send, type ClientMessage, type ServerMessage } from "./protocol.js";
import { sentKey, valuesOf, type Waiter, type WaiterValues } from "./waiters.js";

/** While this process waits for or holds slots, it pings the coordinator this often. */
export const PING_MS = 250;
/**
 * A coordinator silent this long while pinged is taken for stopped (then the election probes it twice). Longer than
 * COORDINATOR_LAPSE_MS with a margin: a coordinator replaced has not run for at least this long, so it notices.
 */
export const SILENT_MS = 1_200;
/** A gap this long between two of this process's own ticks means this process itself was not running. */
export const LAPSE_MS = 1_000;
const STATUS_TIMEOUT_MS = 1_000;

/** What the coordinator last said about the leases it counts and who is busy (see the `pong` message). */
export interface LastPong {
  by: string;
  leases: Array<[string, string, string, number]>;
  busy: string[];
}

/** What a client knows of a coordinator that went silent: its last pong and the slots it held itself (exact). */
export interface LastWords {
  pong: LastPong | undefined;
  own: Array<{ account: string; model: string }>;
}

export interface ClientHooks {
  owner: string;
  /** True while this process waits for or holds a slot: only then is the coordinator's silence watched. */
  busy(): boolean;
  granted(id: string, account: string, others: number): void;
  refused(id: string): void;
  limit(limit: SharedLimit): void;
  peers(owners: string[]): void;
  state(): void;
  /** The connection ended (the coordinator exited, closed, or stepped down). */
  gone(): void;
  /** The coordinator stopped answering pings; `last` is what it said last. */
  silent(last: LastWords): void;
}

/**
 * This process's side of a connection to the machine coordinator: sends waiters, releases, holds and limits;
 * hands grants and announcements to the ledger; watches, while anything waits or runs, that the coordinator
 * still answers (`ping`/`pong`, on the injected liveness clock).
 */
export class SocketClient {
  private readonly snaps = new Map<string, (status: LedgerStatus) => void>();
  private counter = 0;
  private stopped = false;
  private cancelBeat: (() => void) | undefined;
  private lastHeard = 0;
  private lastTick = 0;
  private lastPong: LastPong | undefined;
  /** The slots the coordinator holds itself, as it told each change. */
  private readonly theirs = new Map<string, { account: string; model: string }>();

  constructor(
    readonly socket: Socket,
    private readonly clock: Clock,
    private readonly hooks: ClientHooks,
  ) {
    readMessages<ServerMessage>(socket, (message) => this.onServer(message));
    onGone(socket, () => {
      if (this.stop()) hooks.gone();
    });
  }

  /** Joins: hello, every lease held, `ready`, the limits known; then the waiters (by `enter`). */
  join(held: Iterable<[string, { account: string; model: string }]>, limits: SharedLimit[]): void {
    this.send({ t: "hello", owner: this.hooks.owner, pid: process.pid, host: hostname() });
    for (const [id, lease] of held) this.send({ t: "hold", id, ...lease });
    this.send({ t: "ready" });
    for (const limit of limits) this.send({ t: "limit", ...limit });
  }

  /** Sends a waiter; false when it has no candidate left. */
  enter(waiter: Waiter): boolean {
    const values = valuesOf(waiter.request);
    if (!values) return false;
    waiter.sent = sentKey(values);
    const { request } = waiter;
    this.send({
      t: "acq",
      id: waiter.id,
      model: request.model,
      at: request.at ?? waiter.at,
      seq: request.seq,
      ...values,
    });
    this.watch();
    return true;
  }

  update(waiter: Waiter, values: WaiterValues): void {
    this.send({ t: "upd", id: waiter.id, ...values });
  }

  send(message: ClientMessage): void {
    send(this.socket, message);
  }

  /** Starts watching the coordinator's liveness, if it is not watched yet (the ledger calls it when busy). */
  watch(): void {
    if (this.cancelBeat || this.stopped) return;
    this.lastHeard = this.lastTick = this.clock.now();
    this.cancelBeat = this.clock.setTimer(() => this.tick(), PING_MS);
  }

  status(): Promise<LedgerStatus> {
    const id = `s${++this.counter}`;
    return new Promise<LedgerStatus>((resolve) => {
      const cancel = this.clock.setTimer(() => {
        this.snaps.delete(id);
        resolve({ kind: "machine", detail: "the coordinator did not answer", pairs: [] });
      }, STATUS_TIMEOUT_MS);
      this.snaps.set(id, (status) => {
        cancel();
        resolve(status);
      });
      this.send({ t: "snap", id });
    });
  }

  /** Ends the connection without telling the ledger; true the first time. */
  stop(): boolean {
    if (this.stopped) return false;
    this.stopped = true;
    this.cancelBeat?.();
    this.cancelBeat = undefined;
    this.socket.destroy();
    return true;
  }

  private tick(): void {
    this.cancelBeat = undefined;
    if (this.stopped || !this.hooks.busy()) return;
    const now = this.clock.now();
    // This process did not run for a while (suspended itself, or starved): the coordinator's answer may be unread.
    if (now - this.lastTick > LAPSE_MS) this.lastHeard = now;
    this.lastTick = now;
    if (now - this.lastHeard < SILENT_MS) {
      this.send({ t: "ping" });
      this.cancelBeat = this.clock.setTimer(() => this.tick(), PING_MS);
      return;
    }
    // One turn of the event loop first: an answer already received is read before the verdict.
    this.cancelBeat = () => clearImmediate(immediate);
    const immediate = setImmediate(() => {
      this.cancelBeat = undefined;
      if (this.stopped) return;
      if (this.clock.now() - this.lastHeard < SILENT_MS) return this.watchAgain();
      if (this.stop()) this.hooks.silent({ pong: this.lastPong, own: [...this.theirs.values()] });
    });
  }

  private watchAgain(): void {
    this.cancelBeat = this.clock.setTimer(() => this.tick(), PING_MS);
  }

  private onServer(message: ServerMessage): void {
    this.lastHeard = this.clock.now();
    switch (message.t) {
      case "grant":
        return this.hooks.granted(message.id, message.account, message.others);
      case "nocand":
        return this.hooks.refused(message.id);
      case "limit":
        return this.hooks.limit({ account: message.account, model: message.model, state: message.state });
      case "peers":
        return this.hooks.peers(message.owners);
      case "state":
        return this.hooks.state();
      case "pong":
        this.lastPong = { by: message.by, leases: message.leases, busy: message.busy };
        return;
      case "own":
        this.theirs.set(message.id, { account: message.account, model: message.model });
        return;
      case "unown":
        this.theirs.delete(message.id);
        return;
      case "snap": {
        const done = this.snaps.get(message.id);
        this.snaps.delete(message.id);
        done?.({ kind: "machine", detail: `client of the coordinator pid ${message.pid}`, pairs: message.pairs });
        return;
      }
    }
  }
}
