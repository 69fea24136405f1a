/*
 * A table of objects named by id and held in slots: what groups and meters
 * share. Programs name an object by its slot (an array index, read in the hot
 * path); the control plane names it by id. Slots are reused after a delete.
 *
 * Invariants
 * - bySlot[x.slot] === x and get(x.id) === x for every object held.
 * - A freed slot holds null until reused.
 */

export interface Slotted {
  readonly id: number;
  readonly slot: number;
}

export class SlotTable<T extends Slotted> {
  /** Objects by slot (null: free); read per frame. */
  readonly bySlot: (T | null)[] = [];
  private readonly byId = new Map<number, T>();
  private readonly freeSlots: number[] = [];

  get size(): number {
    return this.byId.size;
  }

  get(id: number): T | undefined {
    return this.byId.get(id);
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /** Slot of object `id`, -1 if it is not held. */
  slotOf(id: number): number {
    return this.byId.get(id)?.slot ?? -1;
  }

  /** Every object, by id. */
  list(): T[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  /** The slot the next put() should use. */
  protected nextSlot(): number {
    return this.freeSlots.length > 0 ? this.freeSlots[this.freeSlots.length - 1] : this.bySlot.length;
  }

  /** Holds `x` in its slot (which nextSlot() gave). */
  protected put(x: T): void {
    if (x.slot === this.bySlot.length) this.bySlot.push(x);
    else {
      this.freeSlots.pop();
      this.bySlot[x.slot] = x;
    }
    this.byId.set(x.id, x);
  }

  /** Drops object `id` (nothing when not held); returns the ids dropped. */
  protected drop(id: number): number[] {
    const x = this.byId.get(id);
    if (x === undefined) return [];
    this.byId.delete(id);
    this.bySlot[x.slot] = null;
    this.freeSlots.push(x.slot);
    return [id];
  }

  /** Drops every object; returns their ids. */
  protected dropAll(): number[] {
    const ids = [...this.byId.keys()];
    for (const id of ids) this.drop(id);
    return ids;
  }
}
