/**
 * A tiny typed event emitter, so the SDK needs neither Node's `events` nor a DOM
 * EventTarget. Each event name maps to the tuple of arguments its listeners receive.
 */

/** Event name -> listener argument tuple. */
export type EventMap = { [name: string]: unknown[] };

/** A listener for the event `K` of the map `E`. */
export type Listener<E extends EventMap, K extends keyof E> = (...args: E[K]) => void;

/**
 * Synchronous emitter. Listeners run in the order they were added; one that throws does
 * not stop the others or the SDK (its error is rethrown on a fresh task, where the host's
 * uncaught-error handler sees it).
 */
export class Emitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Set<Listener<E, keyof E>>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(name: K, listener: Listener<E, K>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as Listener<E, keyof E>);
    return () => this.off(name, listener);
  }

  /** Removes a listener added with `on`. */
  off<K extends keyof E>(name: K, listener: Listener<E, K>): void {
    this.listeners.get(name)?.delete(listener as Listener<E, keyof E>);
  }

  /** Resolves with the arguments of the next `name` event. */
  once<K extends keyof E>(name: K): Promise<E[K]> {
    return new Promise((resolve) => {
      const off = this.on(name, (...args: E[K]) => {
        off();
        resolve(args);
      });
    });
  }

  /** Calls every listener of `name` with `args`. */
  protected emit<K extends keyof E>(name: K, ...args: E[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (err) {
        setTimeout(() => {
          throw err;
        }, 0);
      }
    }
  }
}

/** An `Emitter`'s protected `emit`, handed to the parts of an owner that report on its behalf. */
export type Emit<E extends EventMap> = <K extends keyof E>(name: K, ...args: E[K]) => void;
