import type { Clock } from "../util/clock.js";
import { Coordinator } from "./coordinator.js";
import { removeOwnSocket, resign, socketInode, type ListeningServer } from "./election.js";
import type { LimitBook } from "./limit-book.js";
import type { ServerMessage } from "./protocol.js";
import { SlotTable } from "./slot-table.js";
import type { Succession } from "./succession.js";

/** How often a coordinator marks that it runs; a gap over LAPSE_MS means it was stopped (or starved) meanwhile. */
const BEAT_MS = 250;
/**
 * Longer than this between two beats and the coordinator's view may be stale: a successor may have replaced it. A
 * successor replaces it only after SILENT_MS (1.2 s) of silence and two unanswered probes, which means that this
 * process did not run for at least SILENT_MS: it notices. It grants nothing more and steps down.
 */
export const COORDINATOR_LAPSE_MS = 1_000;
/** How often a coordinator on a socket file checks that the file is still its own. */
const WATCH_MS = 1_000;

export interface SeatOptions {
  owner: string;
  book: LimitBook;
  listening: ListeningServer;
  /** The socket file's inode (file addresses) and path, to notice a replacement and to resign. */
  file: { path: string; inode: number } | undefined;
  liveness: Clock;
  /** The slots this process holds itself. */
  own(): Array<{ id: string; account: string; model: string }>;
  recoverMs: number;
  /** The longest the leases of a process that went silent stay counted without it re-registering them. */
  ghostHoldMs: number;
  /** This seat was given up (replaced, or this process was suspended): the ledger elects again. */
  onVacated(seat: CoordinatorSeat): void;
}

/**
 * This process as the machine coordinator: the shared table (capped by the latest published limits), the server
 * for the others, and its duties: after a take-over, grant nothing until the survivors re-registered; keep the
 * leases of a silent process counted; check the socket file is still its own; and never grant again after a lapse
 * (this process was stopped long enough for a successor to take over).
 */
export class CoordinatorSeat {
  readonly table: SlotTable;
  readonly coordinator: Coordinator;
  private lastBeat: number;
  private lapsed = false;
  private vacated = false;
  /** Timers and handlers by name, all cancelled when the seat is given up. */
  private readonly cancels = new Map<string, () => void>();
  private readonly awaiting = new Set<string>();
  private readonly ghosts = new Map<string, string[]>();
  private endPause: (() => void) | undefined;

  constructor(private readonly options: SeatOptions) {
    const { book, owner, liveness } = options;
    this.lastBeat = liveness.now();
    this.table = SlotTable.of(
      owner,
      (account, model) => book.limitOf(account, model),
      () => this.live(),
    );
    this.coordinator = new Coordinator(options.listening, this.table, {
      onLimit: (limit) => book.remote(limit),
      limits: () => book.all(),
      owner,
      onState: () => book.stateAnnounced(),
      onReady: (who) => this.ready(who),
      own: options.own,
    });
    this.beat();
    if (options.file) this.watch(options.file.path, options.file.inode);
  }

  broadcast(message: ServerMessage): void {
    this.coordinator.broadcast(message);
  }

  /**
   * Tells the others a slot this process took for itself (with `account` and `model`) or freed (without), before
   * it is used: should this process go silent, its successor keeps exactly these counted.
   */
  tellOwn(id: string, account?: string, model?: string): void {
    if (this.coordinator.connections === 0) return;
    const told = account !== undefined && model !== undefined;
    this.broadcast(told ? { t: "own", id, account, model } : { t: "unown", id });
  }

  /** Grants nothing until `succession.awaiting` re-registered (at most recoverMs); counts the ghosts meanwhile. */
  succeed(succession: Succession): void {
    let n = 0;
    for (const [owner, account, model, count] of succession.ghosts) {
      if (owner === this.options.owner) continue;
      const ids = this.ghosts.get(owner) ?? [];
      this.ghosts.set(owner, ids);
      for (let i = 0; i < count; i++) {
        const id = `${owner}/~ghost${++n}`;
        ids.push(id);
        this.table.hold(id, owner, account, model);
      }
    }
    if (this.ghosts.size > 0) this.after("ghosts", () => this.dropGhosts(), this.options.ghostHoldMs);
    for (const owner of succession.awaiting) if (owner !== this.options.owner) this.awaiting.add(owner);
    if (this.awaiting.size === 0) return;
    this.table.pause();
    const cancel = this.after("pause", () => this.endPause?.(), this.options.recoverMs);
    this.endPause = () => {
      this.endPause = undefined;
      this.awaiting.clear();
      cancel();
      this.table.resume();
    };
  }

  /** Stops serving (the ledger closes). */
  async close(): Promise<void> {
    this.vacated = true;
    this.cancelAll();
    // The file goes first: clients re-electing must not reach a coordinator that is closing.
    if (this.options.file) removeOwnSocket(this.options.file.path, this.options.file.inode);
    await this.coordinator.close();
  }

  /** The coordinator may grant: it has run without a lapse since it was elected. */
  private live(): boolean {
    if (this.lapsed) return false;
    if (this.options.liveness.now() - this.lastBeat <= COORDINATOR_LAPSE_MS) return true;
    this.stepDown();
    return false;
  }

  private beat(): void {
    if (this.vacated || !this.live()) return;
    this.lastBeat = this.options.liveness.now();
    this.after("beat", () => this.beat(), BEAT_MS);
  }

  /** This process was not running for a while: its table may be stale, a successor may be granting already. */
  private stepDown(): void {
    this.lapsed = true;
    if (this.vacated) return;
    this.vacated = true;
    this.cancelAll();
    this.coordinator.abandon();
    const file = this.options.file;
    const leave = () => this.options.onVacated(this);
    if (file) void resign(file.path, file.inode).then(leave, leave);
    else queueMicrotask(leave);
  }

  /** A process re-registered everything it holds: its ghosts go, and the pause may end. */
  private ready(owner: string): void {
    for (const id of this.ghosts.get(owner) ?? []) this.table.release(id);
    this.ghosts.delete(owner);
    this.awaiting.delete(owner);
    if (this.awaiting.size === 0) this.endPause?.();
  }

  private dropGhosts(): void {
    for (const ids of this.ghosts.values()) for (const id of ids) this.table.release(id);
    this.ghosts.clear();
  }

  /**
   * A socket file can be removed by a process that judged it stale at the wrong moment, and re-bound: the
   * coordinator checks that the file is still its own, and otherwise hands over to the one that is.
   */
  private watch(path: string, inode: number): void {
    // An exiting coordinator removes its file, so that the successor binds at once (Bun leaves it behind).
    const remove = () => removeOwnSocket(path, inode);
    process.once("exit", remove);
    this.cancels.set("exit", () => process.off("exit", remove));
    const check = () => {
      void socketInode(path).then((now) => {
        if (this.vacated) return;
        if (now === inode) return void this.after("watch", check, WATCH_MS);
        this.vacated = true; // the file is another coordinator's now
        this.cancelAll();
        this.coordinator.abandon();
        this.options.onVacated(this);
      });
    };
    this.after("watch", check, WATCH_MS);
  }

  /** A timer on the liveness clock (replacing the previous one of that name), cancelled when the seat is given up. */
  private after(name: string, fn: () => void, ms: number): () => void {
    this.cancels.get(name)?.();
    const cancel = this.options.liveness.setTimer(() => {
      this.cancels.delete(name);
      fn();
    }, ms);
    this.cancels.set(name, cancel);
    return cancel;
  }

  private cancelAll(): void {
    for (const cancel of this.cancels.values()) cancel();
    this.cancels.clear();
  }
}
