/**
 * What the primary and its workers say to each other over the cluster IPC channel (advanced
 * serialisation: structured clone, so the checked configuration's Map and Sets travel as they
 * are). Every message carries `pcl` so nothing else on the channel is mistaken for one.
 */
import type { AddressInfo } from 'node:net';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { CheckedConfig } from '../config/index.js';

export type ValidChecked = Extract<CheckedConfig, { ok: true }>;
export type MetricSnapshot = MetricObjectWithValues<MetricValue<string>>[];

export type ToWorker =
  | { readonly pcl: 'start'; readonly checked: ValidChecked; readonly file: string }
  | { readonly pcl: 'reload'; readonly checked: ValidChecked; readonly file: string }
  | { readonly pcl: 'stop' }
  /** The primary collects this worker's own metrics / readiness. */
  | { readonly pcl: 'collect-metrics'; readonly id: number }
  | { readonly pcl: 'check-readiness'; readonly id: number }
  /** The answer to this worker's host-metrics / host-readiness question. */
  | { readonly pcl: 'host-metrics'; readonly id: number; readonly metrics?: MetricSnapshot; readonly failed?: string }
  | { readonly pcl: 'host-readiness'; readonly id: number; readonly problem: string | undefined };

export type ToPrimary =
  /** The worker listens for messages: what was sent before would have been lost. */
  | { readonly pcl: 'hello' }
  | { readonly pcl: 'started'; readonly proxy: AddressInfo; readonly metrics: AddressInfo; readonly admin: AddressInfo | undefined }
  /** `addressInUse`: the listener address another process holds (listen/address-in-use.ts). */
  | { readonly pcl: 'failed'; readonly problem: string; readonly addressInUse?: string }
  | { readonly pcl: 'reloaded' }
  | { readonly pcl: 'metrics'; readonly id: number; readonly metrics: MetricSnapshot }
  | { readonly pcl: 'readiness'; readonly id: number; readonly problem: string | undefined }
  /** A scrape or probe reached this worker: the primary answers for the whole host. */
  | { readonly pcl: 'ask-host-metrics'; readonly id: number }
  | { readonly pcl: 'ask-host-readiness'; readonly id: number };

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the message union its channel carries
export function isMessage<T extends { pcl: string }>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && typeof (value as { pcl?: unknown }).pcl === 'string';
}
