/**
 * Questions asked over an IPC channel and answered later by id, each with a deadline: a process
 * that never answers (hung, exiting) fails the question instead of holding it forever.
 */
export interface IpcQuestions<Answer> {
  /** Sends the question (with a fresh id) and waits for its answer. */
  ask(send: (id: number) => void): Promise<Answer>;
  /** Delivers an answer; unknown or late ids are ignored. */
  answer(id: number, value: Answer): void;
}

export function createIpcQuestions<Answer>(timeoutMs: number): IpcQuestions<Answer> {
  let next = 0;
  const pending = new Map<number, { resolve(value: Answer): void; timer: NodeJS.Timeout }>();
  return {
    ask(send) {
      const id = ++next;
      return new Promise<Answer>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve, timer });
        try {
          send(id);
        } catch (error) {
          clearTimeout(timer);
          pending.delete(id);
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    },
    answer(id, value) {
      const waiting = pending.get(id);
      if (!waiting) return;
      pending.delete(id);
      clearTimeout(waiting.timer);
      waiting.resolve(value);
    },
  };
}
