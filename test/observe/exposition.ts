/**
 * A small reader of the Prometheus text exposition format (0.0.4), for asserting on scrapes:
 * samples with their labels, and the TYPE of each family.
 */
import { send } from '../support/client.js';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly text: string;
  readonly samples: readonly Sample[];
  /** Family name → type, from `# TYPE` lines. */
  readonly types: ReadonlyMap<string, string>;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    const name = text.slice(i, eq).trim();
    let value = '';
    let j = eq + 2; // skip ="
    for (; j < text.length; j++) {
      const c = text.charAt(j);
      if (c === '\\') {
        const next = text[++j];
        value += next === 'n' ? '\n' : (next ?? '');
      } else if (c === '"') {
        break;
      } else {
        value += c;
      }
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
  }
  return labels;
}

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const match = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (match?.[1] !== undefined && match[2] !== undefined) types.set(match[1], match[2]);
      continue;
    }
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    if (brace !== -1 && brace < space) {
      const close = line.lastIndexOf('}');
      samples.push({
        name: line.slice(0, brace),
        labels: parseLabels(line.slice(brace + 1, close)),
        value: Number(line.slice(close + 2).split(' ')[0]),
      });
    } else {
      const [name = '', value = ''] = line.split(' ');
      samples.push({ name, labels: {}, value: Number(value) });
    }
  }
  return { text, samples, types };
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** The value of the sample with exactly these labels, or undefined. */
export function valueOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  return exposition.samples.find((sample) => sample.name === name && sameLabels(sample.labels, labels))?.value;
}

/** Samples of one name whose labels include `labels`. */
export function samplesOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return exposition.samples.filter((sample) => sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v));
}

/** A stable key of a series: name and sorted labels. */
export function seriesKey(sample: Sample): string {
  const labels = Object.entries(sample.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${sample.name}{${labels.join(',')}}`;
}

/** GET /metrics on the metrics listener, parsed. */
export async function scrape(metricsUrl: string, accept?: string): Promise<Exposition> {
  const answer = await send(metricsUrl, { path: '/metrics', headers: accept === undefined ? {} : { accept } });
  if (answer.status !== 200) throw new Error(`scrape answered ${answer.status}: ${answer.body}`);
  return parseExposition(answer.body);
}
