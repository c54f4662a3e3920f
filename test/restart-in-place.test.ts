/**
 * When a process may restart itself in place (restart-in-place.ts); the restart itself is tested
 * on real processes in test/integration/gc-threads.test.ts.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { parseEnviron, restartRefusal } from '../src/restart-in-place.js';

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

test('the environment passed on is the one the process was started with, byte for byte, or none', () => {
  const env = parseEnviron(Buffer.from('PATH=/usr/bin\0GREETING=café ☕\0EMPTY=\0WITH=EQUALS=x\0', 'utf8'));
  assert.deepEqual(env, { PATH: '/usr/bin', GREETING: 'café ☕', EMPTY: '', WITH: 'EQUALS=x' });
  // Bytes that are not UTF-8 cannot be handed to execve as they came: no restart.
  assert.equal(parseEnviron(Buffer.from([0x41, 0x3d, 0xe9, 0x00])), undefined);
  assert.deepEqual(parseEnviron(Buffer.alloc(0)), {});
});
