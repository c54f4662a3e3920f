/**
 * A signal held while the process starts. Until a handler for it is in place the signal's
 * default action applies: SIGHUP's ends the process, so a reload asked for just as the gateway
 * announced itself killed it (19 of 20 starts), and SIGTERM's ends it without the drain. Held
 * until the handler is in place, the signal is then handed to it (once, however often it came).
 *
 * One hold per signal at a time: while a hold is neither released nor dropped, `holdSignal`
 * returns it again. So the bin entry can hold SIGHUP from its first line (cli/main.ts), before the
 * commands are loaded and the file is read, and the start that installs the reload releases that
 * same hold, without knowing who took it.
 */
export interface HeldSignal {
  /**
   * Installs `handler` for the signal (`once`: for its first arrival only, so that a second one
   * has the default action again), then calls it if the signal came while held. On a hold
   * already ended it only installs the handler.
   */
  release(handler: () => void, options?: { readonly once?: boolean }): void;
  /** Stops holding without a handler (the start failed): the default action applies again. */
  drop(): void;
}

const holding = new Map<NodeJS.Signals, HeldSignal>();

export function holdSignal(signal: NodeJS.Signals): HeldSignal {
  const current = holding.get(signal);
  if (current !== undefined) return current;
  let arrived = false;
  let ended = false;
  const hold = (): void => {
    arrived = true;
  };
  const end = (): boolean => {
    if (ended) return false;
    ended = true;
    holding.delete(signal);
    return true;
  };
  process.on(signal, hold);
  const held: HeldSignal = {
    release(handler, options = {}) {
      const install = (): void => {
        if (options.once === true) process.once(signal, handler);
        else process.on(signal, handler);
      };
      if (!end()) {
        install();
        return;
      }
      if (options.once === true && arrived) {
        // The held arrival was the first: the handler takes it, and the next has the default action.
        process.off(signal, hold);
        handler();
        return;
      }
      // The handler first: with no listener at all for a moment, the default action would be back.
      install();
      process.off(signal, hold);
      if (arrived) handler();
    },
    drop() {
      if (end()) process.off(signal, hold);
    },
  };
  holding.set(signal, held);
  return held;
}
