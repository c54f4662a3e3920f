/**
 * When a process may restart itself in place (restart-in-place.ts); the restart itself is tested
 * on real processes in test/integration/gc-threads.test.ts.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { restartRefusal } from '../src/restart-in-place.js';

test('a process restarts in place only where nothing is lost and a failure cannot abort it', () => {
  const may = {
    nodeMajor: 26,
    platform: 'linux',
    hasIpcChannel: false,
    hasInspector: false,
    mayExec: true,
    startEnvironment: { PATH: '/usr/bin' },
    execArgv: [],
  } as const;
  assert.equal(restartRefusal(may), undefined);
  assert.equal(restartRefusal({ ...may, nodeMajor: 28 }), undefined);
  assert.equal(restartRefusal({ ...may, execArgv: ['--max-semi-space-size=16', '--require', './agent.cjs'] }), undefined);
  // Node.js 22.15–25 abort on a failed execve; 20 has none.
  assert.match(restartRefusal({ ...may, nodeMajor: 24 }) ?? '', /26/);
  assert.match(restartRefusal({ ...may, nodeMajor: 20 }) ?? '', /26/);
  assert.match(restartRefusal({ ...may, platform: 'win32' }) ?? '', /Windows/);
  assert.match(restartRefusal({ ...may, hasIpcChannel: true }) ?? '', /IPC/);
  assert.match(restartRefusal({ ...may, hasInspector: true }) ?? '', /inspector/);
  assert.match(restartRefusal({ ...may, mayExec: false }) ?? '', /permission/);
  assert.match(restartRefusal({ ...may, startEnvironment: undefined }) ?? '', /environment/);
  for (const envFile of ['--env-file=.env', '--env-file', '--env-file-if-exists=.env']) {
    assert.match(restartRefusal({ ...may, execArgv: [envFile] }) ?? '', /env-file/, envFile);
  }
});
