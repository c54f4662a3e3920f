/**
 * A signal held while the process starts. Until a handler for it is in place the signal's
 * default action applies: SIGHUP's ends the process, so a reload asked for just as the gateway
 * announced itself killed it (19 of 20 starts), and SIGTERM's ends it without the drain. Held
 * until the handler is in place, the signal is then handed to it (once, however often it came).
 */
export interface HeldSignal {
  /**
   * Installs `handler` for the signal (`once`: for its first arrival only, so that a second one
   * has the default action again), then calls it if the signal came while held.
   */
  release(handler: () => void, options?: { readonly once?: boolean }): void;
  /** Stops holding without a handler (the start failed): the default action applies again. */
  drop(): void;
}

export function holdSignal(signal: NodeJS.Signals): HeldSignal {
  let arrived = false;
  const hold = (): void => {
    arrived = true;
  };
  process.on(signal, hold);
  return {
    release(handler, options = {}) {
      if (options.once === true && arrived) {
        // The held arrival was the first: the handler takes it, and the next has the default action.
        process.off(signal, hold);
        handler();
        return;
      }
      // The handler first: with no listener at all for a moment, the default action would be back.
      if (options.once === true) process.once(signal, handler);
      else process.on(signal, handler);
      process.off(signal, hold);
      if (arrived) handler();
    },
    drop() {
      process.off(signal, hold);
    },
  };
}
