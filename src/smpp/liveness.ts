// enquire_link liveness: after enquireLinkIntervalMs with nothing received, probe the peer with an
// enquire_link; when nothing at all has arrived for livenessTimeoutMs, or a probe goes unanswered,
// the link is dead. Any received octet counts as life, so a busy link is never probed.

export interface LivenessOptions {
  enquireLinkIntervalMs: number;
  livenessTimeoutMs: number;
  /** Sends enquire_link; rejects when it gets no response. */
  probe: () => Promise<unknown>;
  onDead: (reason: string) => void;
}

export class LivenessMonitor {
  private lastReceivedAt = Date.now();
  private probing = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LivenessOptions) {}

  /** Call on every chunk received. */
  touch(): void {
    this.lastReceivedAt = Date.now();
  }

  start(): void {
    const { enquireLinkIntervalMs: every, livenessTimeoutMs: dead } = this.options;
    const shortest = Math.min(every > 0 ? every : Infinity, dead > 0 ? dead : Infinity);
    if (shortest === Infinity || this.timer !== undefined) return;
    // Checking 4 times per period keeps detection within 25% of the configured time.
    this.timer = setInterval(() => this.check(), Math.max(5, Math.min(1000, shortest / 4)));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const { enquireLinkIntervalMs: every, livenessTimeoutMs: dead } = this.options;
    const idle = Date.now() - this.lastReceivedAt;
    if (dead > 0 && idle >= dead) {
      this.stop();
      this.options.onDead(`liveness timeout: nothing received for ${idle} ms`);
      return;
    }
    if (every > 0 && idle >= every && !this.probing) {
      this.probing = true;
      this.options.probe().then(
        () => {
          this.probing = false;
        },
        () => {
          this.probing = false;
          if (this.timer === undefined) return;
          this.stop();
          this.options.onDead('enquire_link got no response');
        },
      );
    }
  }
}
