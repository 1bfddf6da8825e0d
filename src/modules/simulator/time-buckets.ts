// Items due at a time, kept in buckets of `resolutionMs` with a min-heap of bucket keys, so that
// scheduling 10 000+ receipts a second costs one array push each and one timer serves them all:
// a setTimeout per message would cost a timer object, a closure and a heap insert in libuv each.
// An item is never released early, and at most one resolution late.

export class TimeBuckets<T> {
  private readonly buckets = new Map<number, T[]>();
  /** Bucket keys, a binary min-heap; each key appears once, with its bucket in `buckets`. */
  private readonly keys: number[] = [];
  private count = 0;

  constructor(readonly resolutionMs = 10) {}

  get size(): number {
    return this.count;
  }

  add(dueMs: number, item: T): void {
    // Bucket k holds items due in ((k-1)·res, k·res] and opens at k·res: never before they are due.
    const key = Math.ceil(dueMs / this.resolutionMs);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = [];
      this.buckets.set(key, bucket);
      this.pushKey(key);
    }
    bucket.push(item);
    this.count++;
  }

  /** When the earliest bucket opens, or undefined when empty. */
  nextDueMs(): number | undefined {
    const key = this.keys[0];
    return key === undefined ? undefined : key * this.resolutionMs;
  }

  /** Removes every item due at nowMs and hands each to `take`, earliest bucket first. */
  takeDue(nowMs: number, take: (item: T) => void): number {
    let taken = 0;
    for (;;) {
      const key = this.keys[0];
      if (key === undefined || key * this.resolutionMs > nowMs) return taken;
      this.popKey();
      const bucket = this.buckets.get(key)!;
      this.buckets.delete(key);
      this.count -= bucket.length;
      for (const item of bucket) take(item);
      taken += bucket.length;
    }
  }

  /** Removes everything; for shutdown. */
  clear(): void {
    this.buckets.clear();
    this.keys.length = 0;
    this.count = 0;
  }

  private pushKey(key: number): void {
    const heap = this.keys;
    let i = heap.length;
    heap.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (p <= key) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = key;
  }

  private popKey(): void {
    const heap = this.keys;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && heap[right]! < heap[left]! ? right : left;
      if (heap[child]! >= last) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
