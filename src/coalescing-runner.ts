/**
 * Runs an async task on request, one run at a time. A request that arrives during a run marks
 * that run superseded (the task can ask) and makes the task run once more after it, however many
 * requests arrived meanwhile. Used for SIGHUP reloads: the last request always ends in a run that
 * started after it, and runs never overlap.
 */
export interface CoalescingRunner {
  /** Runs the task now, or once more after the current run. */
  request(): void;
}

/**
 * @param task      the work; `superseded()` tells whether a request arrived since this run began
 * @param runAgain  checked before a queued run starts (false: the queued run is dropped)
 */
export function createCoalescingRunner(
  task: (superseded: () => boolean) => Promise<void>,
  runAgain: () => boolean = () => true,
): CoalescingRunner {
  let running = false;
  let requestedDuringRun = false;
  const superseded = (): boolean => requestedDuringRun;

  const loop = async (): Promise<void> => {
    do {
      requestedDuringRun = false;
      try {
        await task(superseded);
      } catch {
        // The task reports its own failures; one that escapes must not stop later runs.
      }
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set again by a request that arrived while the task was awaited
    } while (requestedDuringRun && runAgain());
    running = false;
  };

  return {
    request() {
      if (running) {
        requestedDuringRun = true;
        return;
      }
      running = true;
      void loop();
    },
  };
}
