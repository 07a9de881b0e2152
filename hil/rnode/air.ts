// The radio medium on the real clock, shared by emulated radios: the pure Medium (hil/medium) with one timer
// armed at the end of the next transmission, which settles it and hands each radio its outcome.
// Time is monotonic milliseconds since the air was created (performance.now), never the wall clock.
import { Medium, type Outcome, type RadioSettings, type Settled, type Transmission } from "../medium/medium.js";

export type OutcomeListener = (transmission: Transmission, outcome: Outcome) => void;

export class RealtimeAir {
  private readonly t0 = performance.now();
  private readonly listeners = new Map<string, OutcomeListener>();
  private readonly observers: ((settled: Settled) => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(readonly medium: Medium = new Medium()) {}

  nowMs(): number {
    return performance.now() - this.t0;
  }

  /** Adds a radio (off until tuned); `listener` gets its outcome of every transmission it could have heard. */
  join(radioId: string, listener: OutcomeListener): void {
    this.medium.addRadio(radioId, null, this.nowMs());
    this.listeners.set(radioId, listener);
  }

  leave(radioId: string): void {
    this.listeners.delete(radioId);
    this.medium.removeRadio(radioId);
  }

  tune(radioId: string, settings: RadioSettings | null): void {
    this.medium.setRadio(radioId, settings, this.nowMs());
  }

  transmit(radioId: string, bytes: Uint8Array, raw: boolean): Transmission {
    const t = this.medium.transmit(radioId, bytes, this.nowMs(), { raw });
    this.arm();
    return t;
  }

  /** Every settled transmission, for logs and tests. */
  observe(cb: (settled: Settled) => void): void {
    this.observers.push(cb);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const next = this.medium.nextEndMs();
    if (next === null) return;
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.ceil(next - this.nowMs())));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    for (const settled of this.medium.settle(this.nowMs())) {
      for (const cb of this.observers) cb(settled);
      for (const o of settled.outcomes) this.listeners.get(o.radioId)?.(settled.transmission, o);
    }
    this.arm();
  }
}
