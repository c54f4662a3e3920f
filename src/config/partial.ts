/**
 * The configuration salvaged part by part, so semantic checks can run on every value that is
 * well-formed even when its neighbours are not: a typo in `cache` or a bad `methods` list must
 * not hide an http:// upstream. A value that fails its schema is left out (the schema pass
 * reports it); mappings and lists are salvaged key by key and item by item.
 */
import { z } from 'zod';
import { configSchema, type RawConfig } from './schema.js';

/** `T` with every key optional, all the way down; list items may be missing too. */
export type DeepPartial<T> = T extends readonly (infer E)[]
  ? readonly (DeepPartial<E> | undefined)[]
  : T extends object
    ? { readonly [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** The well-formed parts of a configuration. */
export type PartialConfig = DeepPartial<RawConfig>;

const FAILED = Symbol('failed');

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unwrap(schema: z.ZodType): z.ZodType {
  let inner = schema;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault || inner instanceof z.ZodNullable)
    inner = inner.unwrap() as z.ZodType;
  return inner;
}

function salvage(schema: z.ZodType, value: unknown): unknown {
  const whole = schema.safeParse(value);
  if (whole.success) return whole.data;
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject && isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries<z.ZodType>(inner.shape)) {
      const part = salvage(field, value[key]);
      if (part !== FAILED) out[key] = part;
    }
    return out;
  }
  if (inner instanceof z.ZodArray && Array.isArray(value)) {
    return value.map((item: unknown) => {
      const part = salvage(inner.element as z.ZodType, item);
      return part === FAILED ? undefined : part;
    });
  }
  return FAILED;
}

/** Every well-formed part of `value` (defaults applied where a part is absent). */
export function parsePartially(value: unknown): PartialConfig {
  const parts = salvage(configSchema, value);
  return parts === FAILED || !isRecord(parts) ? {} : parts;
}

/** Whether the file itself (not a default) gives a value at `path`. */
export function isWritten(value: unknown, path: readonly (string | number)[]): boolean {
  let node: unknown = value;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null) return false;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node !== undefined;
}
