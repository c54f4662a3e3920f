// A log-linear latency histogram in the spirit of HdrHistogram: exact below 1,024 µs, then 512
// sub-buckets per power of two (relative error under 0.2 %), up to 2^31 µs (~36 min). Fixed
// memory (one Uint32Array), O(1) record, percentiles by a scan of the counts.

const LINEAR = 1024; // values 0..1023 µs have a bucket each
const SUB = 512; // sub-buckets per power of two above that
const MAX_SHIFT = 22; // 1024 << 21 ≈ 2^31 µs
const SIZE = LINEAR + MAX_SHIFT * SUB;

/** Bucket of a value in whole µs. */
function indexOf(us) {
  if (us < LINEAR) return us;
  const log2 = 31 - Math.clz32(us); // >= 10
  const shift = log2 - 9; // (us >> shift) is in [512, 1023]
  if (shift > MAX_SHIFT) return SIZE - 1;
  return LINEAR + (shift - 1) * SUB + ((us >> shift) - SUB);
}

/** Middle of a bucket, in µs. */
function valueOf(index) {
  if (index < LINEAR) return index;
  const shift = Math.floor((index - LINEAR) / SUB) + 1;
  const low = (((index - LINEAR) % SUB) + SUB) * 2 ** shift;
  return low + (2 ** shift - 1) / 2;
}

export function createHistogram() {
  const counts = new Uint32Array(SIZE);
  let total = 0;
  let sum = 0;
  let max = 0;
  let min = Infinity;
  return {
    /** Records one latency in µs (fractional values are rounded). */
    record(us) {
      const v = Math.max(0, Math.min(2 ** 31 - 1, Math.round(us)));
      counts[indexOf(v)]++;
      total++;
      sum += v;
      if (v > max) max = v;
      if (v < min) min = v;
    },
    get count() {
      return total;
    },
    /** The value at percentile p (0-100), in µs; 0 when empty. */
    percentile(p) {
      if (total === 0) return 0;
      const rank = Math.max(1, Math.ceil((p / 100) * total));
      let seen = 0;
      for (let i = 0; i < SIZE; i++) {
        seen += counts[i];
        if (seen >= rank) return Math.min(valueOf(i), max);
      }
      return max;
    },
    summary() {
      return {
        mean: total ? sum / total : 0,
        max: total ? max : 0,
        min: total ? min : 0,
        p50: this.percentile(50),
        p90: this.percentile(90),
        p99: this.percentile(99),
        p999: this.percentile(99.9),
      };
    },
  };
}
