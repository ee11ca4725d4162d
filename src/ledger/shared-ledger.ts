import type { Socket } from "node:net";
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import { NoCandidatesError } from "../scheduler/errors.js";
import { systemClock, type Clock } from "../util/clock.js";
import { CoordinatorSeat, type Succession } from "./coordinator-seat.js";
import { elect } from "./election.js";
import { onceReleased } from "./grant.js";
import type { LedgerKind, LedgerStatus, SharedLimit, SlotGrant, SlotLedger, SlotRequest } from "./ledger.js";
import { LimitBook } from "./limit-book.js";
import type { ClientMessage } from "./protocol.js";
import { SlotTable, type TableWaiter } from "./slot-table.js";
import { SocketClient, type LastWords } from "./socket-client.js";
import type { LedgerAddress } from "./socket-address.js";
import { Waiters, type Waiter } from "./waiters.js";

/**
 * Where this process's slots live: a table in this process (`seat` when it is the machine coordinator; none for
 * per-process slots), a coordinator reached over the socket, or nowhere yet (an election is under way).
 */
type Mode = { kind: "table"; table: SlotTable; seat: CoordinatorSeat | undefined } | { kind: "client"; client: SocketClient } | { kind: "electing" };

interface Lease {
  account: string;
  model: string;
}

export interface MachineOptions {
  address: LedgerAddress;
  clock: Clock;
  onWarning: (message: string) => void;
  /** After a take-over, how long re-registering holders get before the new coordinator grants anything. */
  recoverMs?: number;
  /** The longest the leases of a coordinator that went silent stay counted without it coming back. */
  ghostHoldMs?: number;
  /** The clock of the machine-level timers (liveness pings, take-over pause); the system clock by default. */
  liveness?: Clock;
}

/** Awaited by a successor that does not know whom to wait for: only the time bound ends its pause. */
const UNKNOWN = "";
/** After a take-over, the longest the successor waits for surviving processes to re-register their slots. */
const DEFAULT_RECOVER_MS = 1_500;
/** A silent coordinator's leases stay counted this long (its streams may still run) unless it re-registers them. */
export const DEFAULT_GHOST_HOLD_MS = 120_000;

/**
 * A SlotLedger over a SlotTable: in this process (`local`), or shared by every process of the user on the machine
 * (`machine`): the first to bind the socket keeps the table and serves it (CoordinatorSeat), the others reach it
 * over the socket (SocketClient); the coordinator's own requests call the table directly. When the coordinator
 * goes away or stops answering, its clients elect a successor and re-register what they hold and wait for.
 */
export class SharedLedger implements SlotLedger {
  readonly owner = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private mode: Mode;
  private readonly waiters: Waiters;
  private readonly held = new Map<string, Lease>();
  private readonly book = new LimitBook();
  private counter = 0;
  private closed = false;
  private fallback = false;
  /** The processes on the ledger as the coordinator last announced them (its own first). */
  private peers: string[] = [];
  /** Resolves once the first election is over (at once for `local`). */
  readonly ready: Promise<void>;

  private constructor(
    private readonly clock: Clock,
    private readonly machine: MachineOptions | undefined,
  ) {
    this.waiters = new Waiters(clock, (waiter) => this.withdraw(waiter));
    if (machine) {
      this.mode = { kind: "electing" };
      this.ready = this.join(undefined);
    } else {
      this.mode = this.localTable();
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
    if (this.mode.kind === "table") return this.mode.seat ? "coordinator" : "local";
    return this.mode.kind;
  }

  acquire<T>(request: SlotRequest, wrap: (grant: SlotGrant) => T): Promise<T> {
    const id = String(++this.counter);
    const mode = this.mode;
    // Uncontended: a free slot is taken at once, with no waiter, timer nor listener.
    if (mode.kind === "table" && !request.signal?.aborted) {
      const taken = mode.table.tryTake(`${this.owner}/${id}`, this.owner, request);
      if (taken) return Promise.resolve(wrap(this.lease(id, taken[0], request.model, taken[1])));
    }
    return this.waiters.wait(id, request, wrap, (waiter) => this.register(waiter));
  }

  poke(): void {
    const mode = this.mode;
    if (mode.kind === "table") return mode.table.dispatch();
    if (mode.kind !== "client") return;
    for (const { waiter, values } of this.waiters.changed()) mode.client.update(waiter, values);
    this.updateRef();
  }

  inFlight(account: string, model: string): number {
    if (this.mode.kind === "table") return this.mode.table.inFlight(account, model);
    let count = 0;
    for (const lease of this.held.values()) if (lease.account === account && lease.model === model) count++;
    return count;
  }

  waiting(model?: string): number {
    return this.waiters.count(model);
  }

  publishLimit(limit: SharedLimit): void {
    if (this.book.keep(limit)) this.tell({ t: "limit", ...limit });
  }

  announceState(): void {
    this.tell({ t: "state" });
  }

  onStateAnnounced(listener: () => void): void {
    this.book.onState(listener);
  }

  onLimit(listener: (limit: SharedLimit) => void): void {
    this.book.onLimit(listener);
  }

  async status(): Promise<LedgerStatus> {
    const mode = this.mode;
    if (mode.kind === "client") return mode.client.status();
    if (mode.kind === "electing") return { kind: this.kind, detail: "electing a coordinator", pairs: [] };
    const others = mode.seat?.coordinator.connections;
    const detail = others !== undefined ? `coordinator (this process, pid ${process.pid}, ${others} other process(es))` : this.fallback ? "per-process slots (the machine-wide ledger is unavailable)" : "in this process";
    return { kind: this.kind, detail, pairs: mode.table.status() };
  }

  async close(): Promise<void> {
    this.closed = true;
    const mode = this.mode;
    this.mode = { kind: "electing" };
    this.waiters.clear();
    if (mode.kind === "client") mode.client.stop();
    if (mode.kind === "table") await mode.seat?.close();
  }

  /** A limit or state announcement for the other processes, wherever they are reached from here. */
  private tell(message: Extract<ClientMessage, { t: "limit" | "state" }>): void {
    const mode = this.mode;
    if (mode.kind === "table") mode.seat?.broadcast(message);
    else if (mode.kind === "client") mode.client.send(message);
  }

  /** Enters a waiter wherever the slots live now (while electing: when the election is over). */
  private register(waiter: Waiter): void {
    const mode = this.mode;
    if (mode.kind === "table") mode.table.acquire(this.tableWaiter(waiter));
    else if (mode.kind === "client" && !mode.client.enter(waiter)) this.waiters.fail(waiter.id, new NoCandidatesError());
    this.updateRef();
  }

  private tableWaiter(waiter: Waiter): TableWaiter {
    const { request } = waiter;
    return {
      id: `${this.owner}/${waiter.id}`,
      owner: this.owner,
      model: request.model,
      at: waiter.at,
      seq: request.seq,
      candidates: () => request.candidates(),
      cap: (account) => request.cap(account),
      grant: (account, others) => this.granted(waiter.id, account, others),
      reject: (error) => {
        this.waiters.fail(waiter.id, error);
        this.updateRef();
      },
    };
  }

  private granted(id: string, account: string, others: number): void {
    const waiter = this.waiters.get(id);
    if (!waiter) return this.releaseSlot(id); // cancelled while the grant was on its way
    this.waiters.grant(id, this.lease(id, account, waiter.request.model, others));
    this.updateRef();
  }

  private lease(id: string, account: string, model: string, others: number): SlotGrant {
    this.held.set(id, { account, model });
    // The coordinator tells its own slots to the others first: should it go silent, its successor counts them.
    const mode = this.mode;
    if (mode.kind === "table" && mode.seat?.coordinator.connections) mode.seat.broadcast({ t: "own", id, account, model });
    return onceReleased({ id, account, model, othersInFlight: others }, () => {
      this.held.delete(id);
      this.releaseSlot(id);
    });
  }

  private releaseSlot(id: string): void {
    const mode = this.mode;
    if (mode.kind === "table" && mode.seat?.coordinator.connections) mode.seat.broadcast({ t: "unown", id });
    if (mode.kind === "table") mode.table.release(`${this.owner}/${id}`);
    else if (mode.kind === "client") mode.client.send({ t: "rel", id });
    this.updateRef();
  }

  /** A waiter timed out or was aborted. */
  private withdraw(waiter: Waiter): void {
    const mode = this.mode;
    if (mode.kind === "table") mode.table.cancel(`${this.owner}/${waiter.id}`);
    else if (mode.kind === "client") mode.client.send({ t: "cancel", id: waiter.id });
    this.updateRef();
  }

  /** A process waiting for a grant over the socket must not exit meanwhile; an idle one may. */
  private updateRef(): void {
    const mode = this.mode;
    if (mode.kind === "electing" || (mode.kind === "table" && !mode.seat)) return;
    const handle = mode.kind === "client" ? mode.client.socket : mode.seat?.coordinator.server;
    if (this.waiters.size > 0) handle?.ref();
    else handle?.unref();
    if (mode.kind === "client" && this.busy()) mode.client.watch();
  }

  private busy(): boolean {
    return this.waiters.size > 0 || this.held.size > 0;
  }

  private localTable(): Mode {
    const table = new SlotTable();
    table.setOwner(this.owner, { host: hostname(), pid: process.pid });
    return { kind: "table", table, seat: undefined };
  }

  /**
   * Becomes the coordinator or a client. `succession`: after a take-over, whom a new coordinator waits for and
   * which leases it keeps counted; `suspect`: the last coordinator stopped answering (its file may be replaced).
   */
  private async join(succession: Succession | undefined, suspect = false): Promise<void> {
    const machine = this.machine;
    if (!machine || this.closed) return;
    this.mode = { kind: "electing" };
    let elected;
    try {
      elected = await elect(machine.address, undefined, undefined, suspect);
    } catch (error) {
      this.fallback = true;
      machine.onWarning(`the machine-wide slot ledger is unavailable (${error instanceof Error ? error.message : String(error)}); slots are counted per process`);
      return this.become(this.localTable());
    }
    if (this.closed) {
      if (elected.role === "client") elected.socket.destroy();
      else elected.server.close();
      return;
    }
    if (elected.role === "client") return this.become({ kind: "client", client: this.client(elected.socket) });
    const liveness = machine.liveness ?? systemClock;
    const file = elected.inode !== undefined ? { path: machine.address.path, inode: elected.inode } : undefined;
    const seat = new CoordinatorSeat({
      owner: this.owner,
      book: this.book,
      listening: elected.server,
      file,
      liveness,
      recoverMs: machine.recoverMs ?? DEFAULT_RECOVER_MS,
      ghostHoldMs: machine.ghostHoldMs ?? DEFAULT_GHOST_HOLD_MS,
      onVacated: (vacated) => this.vacated(vacated),
      own: () => [...this.held].map(([id, lease]) => ({ id, ...lease })),
    });
    if (succession) seat.succeed(succession);
    this.become({ kind: "table", table: seat.table, seat });
  }

  private client(socket: Socket): SocketClient {
    const client: SocketClient = new SocketClient(socket, this.machine?.liveness ?? systemClock, {
      owner: this.owner,
      busy: () => this.busy(),
      granted: (id, account, others) => this.granted(id, account, others),
      refused: (id) => {
        this.waiters.fail(id, new NoCandidatesError());
        this.updateRef();
      },
      limit: (limit) => this.book.remote(limit),
      peers: (owners) => (this.peers = owners),
      state: () => this.book.stateAnnounced(),
      // The coordinator exited: it is first in the peers list, every other peer re-registers. Without a list (this
      // process joined just before), only the time bound ends the pause.
      gone: () => this.rejoin(client, { awaiting: new Set(this.peers.length > 0 ? this.peers.slice(1) : [UNKNOWN]), ghosts: [] }),
      silent: (last) => this.rejoin(client, this.afterSilence(last), true),
    });
    return client;
  }

  /**
   * The silent coordinator's own leases stay counted (it told each one), as do the others' it counted last (until
   * each re-registers); the processes that held or waited for slots are waited for.
   */
  private afterSilence({ pong, own }: LastWords): Succession {
    const silent = pong?.by ?? this.peers[0] ?? UNKNOWN;
    const ghosts = (pong?.leases ?? []).filter(([owner]) => owner !== silent);
    for (const { account, model } of own) ghosts.push([silent, account, model, 1]);
    const awaiting = new Set(pong ? pong.busy.filter((owner) => owner !== silent) : [UNKNOWN]);
    return { awaiting, ghosts };
  }

  private rejoin(client: SocketClient, succession: Succession, suspect = false): void {
    if (this.closed || this.mode.kind !== "client" || this.mode.client !== client) return;
    void this.join(succession, suspect);
  }

  /** This process's coordinator seat was given up: its table is stale; every lease it counted is kept a while. */
  private vacated(seat: CoordinatorSeat): void {
    if (this.closed || this.mode.kind !== "table" || this.mode.seat !== seat) return;
    const ghosts = seat.table.owned();
    void this.join({ awaiting: new Set(ghosts.map(([owner]) => owner)), ghosts });
  }

  private become(mode: Mode): void {
    this.mode = mode;
    if (mode.kind === "table") {
      for (const [id, lease] of this.held) mode.table.hold(`${this.owner}/${id}`, this.owner, lease.account, lease.model);
    } else if (mode.kind === "client") {
      mode.client.join(this.held, this.book.all());
    }
    for (const waiter of this.waiters.all()) this.register(waiter);
    this.updateRef();
  }
}
