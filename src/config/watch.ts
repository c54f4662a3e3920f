/**
 * `portcullis start --watch-config`: reload when the configuration file, or a file it names
 * (certificates, keys, CA files), changes — for platforms that update files without sending a
 * signal (a Kubernetes ConfigMap or Secret volume, cert-manager, a configuration agent).
 *
 * The directories are watched, not the files: editors and configuration tools replace a file by
 * renaming a new one over it, and Kubernetes updates a mounted volume by writing a new
 * timestamped directory and renaming the `..data` symlink to it, so the watched file's own inode
 * never changes. Events are debounced (WATCH_DEBOUNCE_MS) so a burst of writes is one reload; the
 * reload is the same as on SIGHUP, with the same checks.
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { GatewayConfig } from './types.js';

/** Quiet time after the last event before reloading, in milliseconds. */
export const WATCH_DEBOUNCE_MS = 300;

/** The name Kubernetes renames to switch a mounted ConfigMap or Secret to its new version. */
const KUBERNETES_DATA_LINK = '..data';

export interface ConfigWatcher {
  close(): void;
}

/**
 * Watches the configuration file and the files of the running configuration (`running()`,
 * read again after each change so newly named files are watched too). Calls `changed` once per
 * burst of events.
 */
export function watchConfigFiles(
  file: string,
  running: () => GatewayConfig,
  changed: () => void,
  failed: (problem: string) => void,
): ConfigWatcher {
  const watchers = new Map<string, FSWatcher>();
  /** Directory → base names that matter in it. */
  let names = new Map<string, Set<string>>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const fire = (): void => {
    timer = undefined;
    if (closed) return;
    changed();
    // The reload may name other files; they are watched from the next event on.
    setTimeout(arm, WATCH_DEBOUNCE_MS).unref();
  };
  const onEvent = (dir: string, filename: string | Buffer | null): void => {
    const name = filename === null ? null : String(filename);
    if (name !== null && name !== KUBERNETES_DATA_LINK && !(names.get(dir)?.has(name) ?? false)) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(fire, WATCH_DEBOUNCE_MS);
  };
  function arm(): void {
    if (closed) return;
    const next = new Map<string, Set<string>>();
    for (const absolute of [path.resolve(file), ...running().files]) {
      const dir = path.dirname(absolute);
      const set = next.get(dir) ?? new Set<string>();
      set.add(path.basename(absolute));
      next.set(dir, set);
    }
    names = next;
    for (const dir of next.keys()) {
      if (watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, (_event, filename) => onEvent(dir, filename));
        watcher.on('error', (error) => failed(`${dir}: ${error.message}`));
        watchers.set(dir, watcher);
      } catch (error) {
        failed(`${dir}: ${(error as Error).message}`);
      }
    }
  }
  arm();
  return {
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
    },
  };
}
