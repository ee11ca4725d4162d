import { hostname } from "node:os";
import { onceReleased } from "./grant.js";
import type { Server, Socket } from "node:net";
import { randomUUID } from "node:crypto";
import { NoCandidatesError, QueueTimeoutError } from "../scheduler/errors.js";
import { abortReason, type Clock } from "../util/clock.js";
import { Coordinator } from "./coordinator.js";
import { elect, removeOwnSocket, socketInode } from "./election.js";
import { acceptsLimit, type LedgerKind, type LedgerStatus, type SharedLimit, type SlotGrant, type SlotLedger, type SlotRequest } from "./ledger.js";
import { onGone, readMessages, send, type ClientMessage, type ServerMessage } from "./protocol.js";
import { SlotTable, type TableWaiter } from "./slot-table.js";
import type { LedgerAddress } from "./socket-address.js";

interface Pending {
  id: string;
  request: SlotRequest;
  at: number;
  /** The candidates and caps last sent to the coordinator (client mode). */
  sent: string;
  resolve(grant: SlotGrant): void; // wraps, then resolves
  reject(error: unknown): void;
  cleanup(): void;
}

type Mode =
  | { kind: "table"; table: SlotTable; coordinator: Coordinator | undefined; server: Server | undefined }
  | { kind: "client"; socket: Socket }
  | { kind: "electing" };

export interface MachineOptions {
  address: LedgerAddress;
  clock: Clock;
  onWarning: (message: string) => void;
  /** After a take-over, how long re-registering holders get before the new coordinator grants anything. */
  recoverMs?: number;
}

/** After a take-over, the longest the successor waits for surviving processes to re-register their slots. */
const DEFAULT_RECOVER_MS = 1_500;
/** How often a coordinator on a socket file checks that the file is still its own. */
const WATCH_MS = 1_000;
const STATUS_TIMEOUT_MS = 1_000;

/**
 * A SlotLedger over a SlotTable: in this process (`local`), or shared by every process of the user on the machine
 * (`machine`): the first to bind the socket keeps the table and serves it, the others reach it over the socket;
 * the coordinator's own requests call the table directly.
 * When the coordinator goes away its clients elect a successor and re-register what they hold and wait for.
 */
export class SharedLedger implements SlotLedger {
  readonly owner = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private mode: Mode;
  private readonly pending = new Map<string, Pending>();
  private readonly held = new Map<string, { account: string; model: string }>();
  private readonly limits = new Map<string, SharedLimit>();
  private readonly listeners: Array<(limit: SharedLimit) => void> = [];
  private readonly stateListeners: Array<() => void> = [];
  private readonly snaps = new Map<string, (status: LedgerStatus) => void>();
  private counter = 0;
  private closed = false;
  private cancelWatch: (() => void) | undefined;
  /** While this process coordinates on a socket file: removes the file (on exit, or when closed). */
  private removeSocket: (() => void) | undefined;
  /** The processes on the ledger as the coordinator last announced them (its own first). */
  private peers: string[] = [];
  /** After a take-over: the processes whose slots are not re-registered yet, and how to end the pause. */
  private awaiting = new Set<string>();
  private endPause: (() => void) | undefined;
  private fallback = false;
  /** Resolves once the first election is over (at once for `local`). */
  readonly ready: Promise<void>;

  private constructor(
    private readonly clock: Clock,
    private readonly machine: MachineOptions | undefined,
  ) {
    if (machine) {
      this.mode = { kind: "electing" };
      this.ready = this.join(false);
    } else {
      this.mode = { kind: "table", table: this.newTable(), coordinator: undefined, server: undefined };
      this.ready = Promise.resolve();
    }
  }

  static local(clock: Clock): SharedLedger {
    return new SharedLedger(clock, undefined);
  }

  static async machine(options: MachineOptions): Promise<SharedLedger> {
    const ledger = new SharedLedger(options.clock, options);
    await ledger.ready;
    return ledger;
  }

  get kind(): LedgerKind {
    return this.machine && !this.fallback ? "machine" : "local";
  }

  /** "coordinator", "client", "electing" or "local". */
  get role(): string {
    if (this.mode.kind === "table") return this.mode.coordinator ? "coordinator" : "local";
    return this.mode.kind;
  }

  acquire<T>(request: SlotRequest, wrap: (grant: SlotGrant) => T): Promise<T> {
    const { signal } = request;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = { id: String(++this.counter), request, at: this.clock.now(), sent: "", resolve: (g) => resolve(wrap(g)), reject, cleanup: () => {} };
      this.pending.set(pending.id, pending);
      this.register(pending);
      if (!this.pending.has(pending.id)) return; // granted or refused at once: no timers needed
      const onAbort = () => {
        this.drop(pending);
        reject(abortReason(signal));
      };
      const cancelTimer = this.clock.setTimer(() => {
        this.drop(pending);
        reject(new QueueTimeoutError(this.clock.now() - pending.at));
      }, request.timeoutMs);
      pending.cleanup = () => {
        cancelTimer();
        signal?.removeEventListener("abort", onAbort);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.updateRef();
    });
  }

  poke(): void {
    const mode = this.mode;
    if (mode.kind === "table") return mode.table.dispatch();
    if (mode.kind !== "client") return;
    for (const pending of [...this.pending.values()]) {
      const values = this.valuesOf(pending);
      if (!values) {
        this.drop(pending);
        pending.reject(new NoCandidatesError());
        continue;
      }
      const text = JSON.stringify(values);
      if (text === pending.sent) continue;
      pending.sent = text;
      send(mode.socket, { t: "upd", id: pending.id, ...values });
    }
  }

  inFlight(account: string, model: string): number {
    if (this.mode.kind === "table") return this.mode.table.inFlight(account, model);
    let count = 0;
    for (const lease of this.held.values()) if (lease.account === account && lease.model === model) count++;
    return count;
  }

  waiting(model?: string): number {
    if (model === undefined) return this.pending.size;
    let count = 0;
    for (const pending of this.pending.values()) if (pending.request.model === model) count++;
    return count;
  }

  publishLimit(limit: SharedLimit): void {
    if (!this.keepLimit(limit)) return;
    const mode = this.mode;
    if (mode.kind === "table") mode.coordinator?.broadcast({ t: "limit", ...limit });
    else if (mode.kind === "client") send(mode.socket, { t: "limit", ...limit });
  }

  announceState(): void {
    const mode = this.mode;
    if (mode.kind === "table") mode.coordinator?.broadcast({ t: "state" });
    else if (mode.kind === "client") send(mode.socket, { t: "state" });
  }

  onStateAnnounced(listener: () => void): void {
    this.stateListeners.push(listener);
  }

  onLimit(listener: (limit: SharedLimit) => void): void {
    this.listeners.push(listener);
    for (const limit of this.limits.values()) listener(limit);
  }

  async status(): Promise<LedgerStatus> {
    const mode = this.mode;
    if (mode.kind === "table") {
      const detail = mode.coordinator ? `coordinator (this process, pid ${process.pid}, ${mode.coordinator.connections} other process(es))` : this.fallback ? "per-process slots (the machine-wide ledger is unavailable)" : "in this process";
      return { kind: this.kind, detail, pairs: mode.table.status() };
    }
    if (mode.kind === "electing") return { kind: this.kind, detail: "electing a coordinator", pairs: [] };
    const id = `s${++this.counter}`;
    return new Promise<LedgerStatus>((resolve) => {
      const cancel = this.clock.setTimer(() => {
        this.snaps.delete(id);
        resolve({ kind: this.kind, detail: "the coordinator did not answer", pairs: [] });
      }, STATUS_TIMEOUT_MS);
      this.snaps.set(id, (status) => {
        cancel();
        resolve(status);
      });
      send(mode.socket, { t: "snap", id });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelWatch?.();
    const mode = this.mode;
    this.mode = { kind: "electing" };
    for (const pending of this.pending.values()) pending.cleanup();
    if (mode.kind === "client") mode.socket.destroy();
    // The file goes first: clients re-electing must not reach a coordinator that is closing.
    this.removeSocket?.();
    if (mode.kind === "table") await mode.coordinator?.close();
  }

  /** Sends or enters a waiter wherever the slots live now. */
  private register(pending: Pending): void {
    const mode = this.mode;
    if (mode.kind === "table") return mode.table.acquire(this.tableWaiter(pending));
    if (mode.kind !== "client") return;
    const values = this.valuesOf(pending);
    if (!values) {
      this.pending.delete(pending.id);
      pending.cleanup();
      pending.reject(new NoCandidatesError());
      return;
    }
    pending.sent = JSON.stringify(values);
    send(mode.socket, { t: "acq", id: pending.id, model: pending.request.model, at: pending.request.at ?? pending.at, seq: pending.request.seq, ...values });
  }

  private valuesOf(pending: Pending): { cands: string[]; caps: Record<string, number> } | undefined {
    const cands = [...pending.request.candidates()];
    if (cands.length === 0) return undefined;
    const caps: Record<string, number> = {};
    for (const account of cands) caps[account] = pending.request.cap(account);
    return { cands, caps };
  }

  private tableWaiter(pending: Pending): TableWaiter {
    return {
      id: `${this.owner}/${pending.id}`,
      owner: this.owner,
      model: pending.request.model,
      at: pending.request.at ?? pending.at,
      seq: pending.request.seq,
      candidates: () => pending.request.candidates(),
      cap: (account) => pending.request.cap(account),
      grant: (account, others) => this.granted(pending.id, account, others),
      reject: (error) => {
        if (!this.pending.delete(pending.id)) return;
        pending.cleanup();
        pending.reject(error);
        this.updateRef();
      },
    };
  }

  private granted(id: string, account: string, others: number): void {
    const pending = this.pending.get(id);
    if (!pending) return this.releaseSlot(id); // cancelled while the grant was on its way
    this.pending.delete(id);
    pending.cleanup();
    const model = pending.request.model;
    this.held.set(id, { account, model });
    pending.resolve(
      onceReleased({ id, account, model, othersInFlight: others }, () => {
        this.held.delete(id);
        this.releaseSlot(id);
      }),
    );
    this.updateRef();
  }

  private releaseSlot(id: string): void {
    const mode = this.mode;
    if (mode.kind === "table") mode.table.release(`${this.owner}/${id}`);
    else if (mode.kind === "client") send(mode.socket, { t: "rel", id });
  }

  /** Forgets a waiter that timed out or was aborted. */
  private drop(pending: Pending): void {
    if (!this.pending.delete(pending.id)) return;
    pending.cleanup();
    const mode = this.mode;
    if (mode.kind === "table") mode.table.cancel(`${this.owner}/${pending.id}`);
    else if (mode.kind === "client") send(mode.socket, { t: "cancel", id: pending.id });
    this.updateRef();
  }

  /** A process waiting for a grant over the socket must not exit meanwhile; an idle one may. */
  private updateRef(): void {
    const mode = this.mode;
    const handle = mode.kind === "client" ? mode.socket : mode.kind === "table" ? mode.server : undefined;
    if (this.pending.size > 0) handle?.ref();
    else handle?.unref();
  }

  /** `shared`: the machine coordinator's table, which also caps grants by the latest limit any process published. */
  private newTable(shared = false): SlotTable {
    const table = new SlotTable(shared ? (account, model) => this.limits.get(`${account}\u0000${model}`)?.state.limit : undefined);
    table.setOwner(this.owner, { host: hostname(), pid: process.pid });
    return table;
  }

  /** Becomes the coordinator or a client; after a take-over, re-registers held slots and waiters. */
  private async join(takeover: boolean): Promise<void> {
    const machine = this.machine!;
    this.mode = { kind: "electing" };
    let elected;
    try {
      elected = await elect(machine.address);
    } catch (error) {
      this.fallback = true;
      machine.onWarning(`the machine-wide slot ledger is unavailable (${error instanceof Error ? error.message : String(error)}); slots are counted per process`);
      this.become({ kind: "table", table: this.newTable(), coordinator: undefined, server: undefined }, false);
      return;
    }
    if (this.closed) {
      if (elected.role === "client") elected.socket.destroy();
      else elected.server.close();
      return;
    }
    if (elected.role === "coordinator") {
      const table = this.newTable(true);
      const coordinator = new Coordinator(elected.server, table, {
        onLimit: (limit) => this.remoteLimit(limit),
        limits: () => [...this.limits.values()],
        owner: this.owner,
        onState: () => this.stateAnnounced(),
        onReady: (owner) => {
          this.awaiting.delete(owner);
          if (this.awaiting.size === 0) this.endPause?.();
        },
      });
      this.become({ kind: "table", table, coordinator, server: elected.server.server }, takeover);
      if (elected.inode !== undefined) this.watch(coordinator, elected.inode);
      return;
    }
    const socket = elected.socket;
    readMessages<ServerMessage>(socket, (message) => this.onServer(message));
    onGone(socket, () => {
      if (this.closed || this.mode.kind !== "client" || this.mode.socket !== socket) return;
      void this.join(true);
    });
    const hello: ClientMessage = { t: "hello", owner: this.owner, pid: process.pid, host: hostname() };
    send(socket, hello);
    this.become({ kind: "client", socket }, takeover);
  }

  /**
   * A socket file can be removed by a process that judged it stale at the wrong moment, and re-bound: the
   * coordinator checks that the file is still its own, and otherwise hands over to the one that is.
   */
  private watch(coordinator: Coordinator, inode: number): void {
    const address = this.machine!.address.path;
    // An exiting coordinator removes its file, so that the successor binds at once (Bun leaves it behind).
    const forget = () => {
      process.off("exit", remove);
      if (this.removeSocket === remove) this.removeSocket = undefined;
    };
    const remove = () => {
      forget();
      removeOwnSocket(address, inode);
    };
    this.removeSocket = remove;
    process.once("exit", remove);
    const check = () => {
      this.cancelWatch = undefined;
      if (this.closed || this.mode.kind !== "table" || this.mode.coordinator !== coordinator) return;
      void socketInode(address).then((now) => {
        if (this.closed || this.mode.kind !== "table" || this.mode.coordinator !== coordinator) return;
        if (now === inode) return void (this.cancelWatch = realTimer(check, WATCH_MS));
        forget(); // the file is another coordinator's now
        coordinator.abandon();
        void this.join(true);
      });
    };
    this.cancelWatch = realTimer(check, WATCH_MS);
  }

  private become(mode: Mode, takeover: boolean): void {
    this.mode = mode;
    if (mode.kind === "table") {
      if (takeover && mode.coordinator) {
        // Grant nothing until every surviving process re-registered its slots (the old coordinator, first in the
        // peers list, is gone), or the pause runs out (a process that died meanwhile never comes back).
        this.awaiting = new Set(this.peers.slice(1).filter((o) => o !== this.owner));
        mode.table.pause();
        const cancel = realTimer(() => this.endPause?.(), this.machine?.recoverMs ?? DEFAULT_RECOVER_MS);
        this.endPause = () => {
          this.endPause = undefined;
          this.awaiting.clear();
          cancel();
          mode.table.resume();
        };
        // Without a peers list (joined just before the old coordinator died) only the time bound ends the pause.
        if (this.awaiting.size === 0 && this.peers.length > 0) this.endPause();
      }
      for (const [id, lease] of this.held) mode.table.hold(`${this.owner}/${id}`, this.owner, lease.account, lease.model);
    } else if (mode.kind === "client") {
      for (const [id, lease] of this.held) send(mode.socket, { t: "hold", id, ...lease });
      send(mode.socket, { t: "ready" });
      for (const limit of this.limits.values()) send(mode.socket, { t: "limit", ...limit });
    }
    for (const pending of [...this.pending.values()]) this.register(pending);
    this.updateRef();
  }

  private onServer(message: ServerMessage): void {
    switch (message.t) {
      case "grant":
        return this.granted(message.id, message.account, message.others);
      case "nocand": {
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        pending.cleanup();
        pending.reject(new NoCandidatesError());
        return this.updateRef();
      }
      case "limit":
        this.remoteLimit({ account: message.account, model: message.model, state: message.state });
        return;
      case "peers":
        this.peers = message.owners;
        return;
      case "state":
        return this.stateAnnounced();
      case "snap": {
        const done = this.snaps.get(message.id);
        this.snaps.delete(message.id);
        done?.({ kind: "machine", detail: `client of the coordinator pid ${message.pid}`, pairs: message.pairs });
        return;
      }
    }
  }

  private stateAnnounced(): void {
    for (const listener of this.stateListeners) listener();
  }

  /** True when `limit` was taken (and should be passed on). */
  private remoteLimit(limit: SharedLimit): boolean {
    if (!this.keepLimit(limit)) return false;
    for (const listener of this.listeners) listener(limit);
    return true;
  }

  /** Keeps `limit` as the pair's latest, unless it is a stale one (see `acceptsLimit`). */
  private keepLimit(limit: SharedLimit): boolean {
    const key = `${limit.account}\u0000${limit.model}`;
    if (!acceptsLimit(this.limits.get(key)?.state, limit.state)) return false;
    this.limits.set(key, limit);
    return true;
  }
}

/**
 * Machine-level timers (socket watch, take-over pause) run on real time, unref'd: they concern other processes, not
 * the injected clock of a request (whose fake time in tests would never reach them, or would count them as pending).
 */
function realTimer(fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms);
  timer.unref?.();
  return () => clearTimeout(timer);
}
