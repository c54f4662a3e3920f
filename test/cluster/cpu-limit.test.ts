/**
 * The container CPU limit `workers: auto` is held to, read from cgroup files laid out as the
 * kernel lays them out (v2 unified, v1 per controller) under a test root.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { cgroupCpuLimit } from '../../src/cluster/cpu-limit.js';

function fakeRoot(t: TestContext, files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'pcl-cgroup-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), `${text}\n`);
  }
  return root;
}

test('cgroup v2: cpu.max quota over period, rounded down, at least 1; max is no limit', (t) => {
  const cases: [string, number | undefined][] = [
    ['200000 100000', 2],
    ['250000 100000', 2],
    ['50000 100000', 1],
    ['400000 50000', 8],
    ['max 100000', undefined],
    ['garbage', undefined],
  ];
  for (const [cpuMax, expected] of cases) {
    const root = fakeRoot(t, { 'proc/self/cgroup': '0::/', 'sys/fs/cgroup/cpu.max': cpuMax });
    assert.equal(cgroupCpuLimit(root), expected, cpuMax);
  }
});

test('cgroup v2: the smallest limit of the cgroup and its ancestors (a pod limit above the container)', (t) => {
  const root = fakeRoot(t, {
    'proc/self/cgroup': '0::/kubepods/pod1/ctr',
    'sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': 'max 100000',
    'sys/fs/cgroup/kubepods/pod1/cpu.max': '300000 100000',
    'sys/fs/cgroup/kubepods/cpu.max': '3200000 100000',
  });
  assert.equal(cgroupCpuLimit(root), 3);
});

test("cgroup v1: the cpu controller's cfs quota, at the container's own mount or below it", (t) => {
  const v1 = (dir: string, quota: string): Record<string, string> => ({
    [`${dir}/cpu.cfs_quota_us`]: quota,
    [`${dir}/cpu.cfs_period_us`]: '100000',
  });
  const cases: [string, Record<string, string>, number | undefined][] = [
    // Docker without a cgroup namespace: the path names the host's cgroup, the mount is the container's own.
    ['5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/', v1('sys/fs/cgroup/cpu,cpuacct', '300000'), 3],
    ['3:cpu:/portcullis\n2:cpuacct:/', { ...v1('sys/fs/cgroup/cpu/portcullis', '100000'), ...v1('sys/fs/cgroup/cpu', '-1') }, 1],
    ['3:cpu:/', v1('sys/fs/cgroup/cpu', '-1'), undefined],
  ];
  for (const [membership, files, expected] of cases) {
    assert.equal(cgroupCpuLimit(fakeRoot(t, { 'proc/self/cgroup': membership, ...files })), expected, membership);
  }
});

test('no cgroup files (not Linux, or hidden): no limit', (t) => {
  assert.equal(cgroupCpuLimit(fakeRoot(t, {})), undefined);
  assert.equal(cgroupCpuLimit(fakeRoot(t, { 'proc/self/cgroup': '0::/' })), undefined);
});
