// Duplicate packet filter (RNS 1.4.2 Transport.packet_hashlist / packet_hashlist_prev): full packet hashes
// kept in two generations. When the current generation holds half the budget it becomes the previous one
// and a fresh generation starts, so memory stays bounded and a hash is remembered for at least half the
// budget's worth of packets.

export class PacketHashlist {
  #current = new Set<string>();
  #previous = new Set<string>();
  readonly #generationSize: number;

  /** `maxHashes` is the total over both generations. */
  constructor(maxHashes: number) {
    if (!Number.isInteger(maxHashes) || maxHashes < 2) throw new RangeError(`bad hashlist size ${maxHashes}`);
    this.#generationSize = Math.floor(maxHashes / 2);
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  has(key: string): boolean {
    return this.#current.has(key) || this.#previous.has(key);
  }

  add(key: string): void {
    if (this.#current.has(key)) return;
    if (this.#current.size >= this.#generationSize) {
      this.#previous = this.#current;
      this.#current = new Set();
    }
    this.#current.add(key);
  }

  /** Forgets a hash in both generations (the reference does so for link packets heard on the wrong interface). */
  delete(key: string): void {
    this.#current.delete(key);
    this.#previous.delete(key);
  }
}
