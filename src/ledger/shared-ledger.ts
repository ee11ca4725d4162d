import type { Socket } from "node:net";
import { randomUUID } from "node:crypto";
import { NoCandidatesError } from "./errors.js";
import type { Clock } from "../util/clock.js";
import { CoordinatorSeat } from "./coordinator-seat.js";
import { elect } from "./election.js";
import { onceReleased } from "./grant.js";
import type { LedgerKind, LedgerStatus, SharedLimit, SlotGrant, SlotLedger, SlotRequest } from "./ledger.js";
import { LimitBook } from "./limit-book.js";
import type { ClientMessage } from "./protocol.js";
import { SlotTable } from "./slot-table.js";
import { tableWaiter } from "./table-waiter.js";
import { SocketClient } from "./socket-client.js";
import { afterExit, afterLapse, afterSilence, type Succession } from "./succession.js";
import { timings, type MachineOptions } from "./machine-options.js";
import { Waiters, type Waiter } from "./waiters.js";

/**
 * Where this process's slots live: a table in this process (`seat` when it is the machine coordinator; none for
 * per-process slots), a coordinator reached over the socket, or nowhere yet (an election is under way).
 */
type Mode =
  | { kind: "table"; table: SlotTable; seat: CoordinatorSeat | undefined }
  | { kind: "client"; client: SocketClient }
  | { kind: "electing" };

export type { MachineOptions } from "./machine-options.js";

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
  private readonly held = new Map<string, { account: string; model: string }>();
  private readonly book = new LimitBook();
  private counter = 0;
  private closed = false;
  private fallback = false;
  /** The processes on the ledger as the coordinator last announced them (its own first). */
  private peers: string[] = [];
  /** Resolves once the first election is over (at once for `local`). */
  readonly ready: Promise<void>;

  private constructor(
    clock: Clock,
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
    const alone = this.fallback ? "per-process slots (the machine-wide ledger is unavailable)" : "in this process";
    const serving = `coordinator (this process, pid ${process.pid}, ${others} other process(es))`;
    const detail = others === undefined ? alone : serving;
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
    if (mode.kind === "table") {
      const grant = (id: string, account: string, others: number) => this.granted(id, account, others);
      mode.table.acquire(tableWaiter(this.owner, waiter, grant, (id, error) => this.refused(id, error)));
    } else if (mode.kind === "client" && !mode.client.enter(waiter)) {
      this.waiters.fail(waiter.id, new NoCandidatesError());
    }
    this.updateRef();
  }

  private refused(id: string, error: unknown): void {
    this.waiters.fail(id, error);
    this.updateRef();
  }

  private granted(id: string, account: string, others: number): void {
    const waiter = this.waiters.get(id);
    if (!waiter) return this.releaseSlot(id); // cancelled while the grant was on its way
    this.waiters.grant(id, this.lease(id, account, waiter.request.model, others));
    this.updateRef();
  }

  private lease(id: string, account: string, model: string, others: number): SlotGrant {
    this.held.set(id, { account, model });
    if (this.mode.kind === "table") this.mode.seat?.tellOwn(id, account, model);
    return onceReleased({ id, account, model, othersInFlight: others }, () => {
      this.held.delete(id);
      this.releaseSlot(id);
    });
  }

  private releaseSlot(id: string): void {
    const mode = this.mode;
    if (mode.kind === "table") mode.seat?.tellOwn(id);
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
    return { kind: "table", table: SlotTable.of(this.owner), seat: undefined };
  }

  /**
   * Becomes the coordinator or a client. `succession`: after a take-over, whom a new coordinator waits for and
   * which leases it keeps counted; `suspect`: the last coordinator stopped answering (its file may be replaced).
   */
  private async join(succession: Succession | undefined, suspect = false): Promise<void> {
    const machine = this.machine;
    if (!machine || this.closed) return;
    this.mode = { kind: "electing" };
    let elected: Awaited<ReturnType<typeof elect>>;
    try {
      elected = await elect(machine.address, undefined, undefined, suspect);
    } catch (error) {
      this.fallback = true;
      const why = error instanceof Error ? error.message : String(error);
      machine.onWarning(`the machine-wide slot ledger is unavailable (${why}); slots are counted per process`);
      return this.become(this.localTable());
    }
    if (this.closed) {
      if (elected.role === "client") elected.socket.destroy();
      else elected.server.close();
      return;
    }
    if (elected.role === "client") {
      return this.become({ kind: "client", client: this.client(elected.socket, timings(machine).liveness) });
    }
    const file = elected.inode !== undefined ? { path: machine.address.path, inode: elected.inode } : undefined;
    const seat = new CoordinatorSeat({
      ...timings(machine),
      owner: this.owner,
      book: this.book,
      listening: elected.server,
      file,
      onVacated: (vacated) => this.vacated(vacated),
      own: () => [...this.held].map(([id, lease]) => ({ id, ...lease })),
    });
    if (succession) seat.succeed(succession);
    this.become({ kind: "table", table: seat.table, seat });
  }

  private client(socket: Socket, liveness: Clock): SocketClient {
    const client: SocketClient = new SocketClient(socket, liveness, {
      owner: this.owner,
      busy: () => this.busy(),
      granted: (id, account, others) => this.granted(id, account, others),
      refused: (id) => this.refused(id, new NoCandidatesError()),
      limit: (limit) => this.book.remote(limit),
      peers: (owners) => (this.peers = owners),
      state: () => this.book.stateAnnounced(),
      gone: () => this.rejoin(client, afterExit(this.peers)),
      silent: (last) => this.rejoin(client, afterSilence(last, this.peers), true),
    });
    return client;
  }

  private rejoin(client: SocketClient, succession: Succession, suspect = false): void {
    if (this.closed || this.mode.kind !== "client" || this.mode.client !== client) return;
    void this.join(succession, suspect);
  }

  /** This process's coordinator seat was given up: its table is stale; every lease it counted is kept a while. */
  private vacated(seat: CoordinatorSeat): void {
    if (this.closed || this.mode.kind !== "table" || this.mode.seat !== seat) return;
    void this.join(afterLapse(seat.table.owned()));
  }

  private become(mode: Mode): void {
    this.mode = mode;
    if (mode.kind === "table") {
      for (const [id, l] of this.held) mode.table.hold(`${this.owner}/${id}`, this.owner, l.account, l.model);
    } else if (mode.kind === "client") {
      mode.client.join(this.held, this.book.all());
    }
    for (const waiter of this.waiters.all()) this.register(waiter);
    this.updateRef();
  }
}
