/**
 * A SIGHUP that arrives while the gateway starts is held and handed to the reload once it is in
 * place; without the hold, SIGHUP's default action ends the process. Each case runs in a child
 * process, which the signal is sent to.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const HELD_SIGNAL_URL = pathToFileURL(new URL('../src/held-signal.js', import.meta.url).pathname).href;

function child(body: string): { stdout: string; status: number | null; signal: NodeJS.Signals | null } {
  const script = `
    const { holdSignal } = await import(${JSON.stringify(HELD_SIGNAL_URL)});
    const later = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    ${body}
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  return { stdout: result.stdout, status: result.status, signal: result.signal };
}

test('without a handler SIGHUP ends the process (the default action the hold is for)', () => {
  const result = child(`process.kill(process.pid, 'SIGHUP'); await later(200); console.log('alive');`);
  assert.equal(result.signal, 'SIGHUP');
  assert.equal(result.stdout, '');
});

test('held: the process lives on, and the handler runs once when it is in place, however often the signal came', () => {
  const result = child(`
    const held = holdSignal('SIGHUP');
    process.kill(process.pid, 'SIGHUP');
    await later(50);
    process.kill(process.pid, 'SIGHUP');
    await later(50);
    console.log('alive');
    held.release(() => console.log('reload'));
    process.kill(process.pid, 'SIGHUP');
    await later(50);
    process.removeAllListeners('SIGHUP');
  `);
  assert.equal(result.signal, null);
  assert.equal(result.status, 0);
  assert.equal(result.stdout, 'alive\nreload\nreload\n', 'once for the held signals, once for the one after');
});

test('released without a signal: the handler waits for one; dropped: the default action is back', () => {
  const quiet = child(`holdSignal('SIGHUP').release(() => console.log('reload')); await later(20); process.removeAllListeners('SIGHUP');`);
  assert.equal(quiet.stdout, '');
  assert.equal(quiet.status, 0);
  const dropped = child(`holdSignal('SIGHUP').drop(); process.kill(process.pid, 'SIGHUP'); await later(200); console.log('alive');`);
  assert.equal(dropped.signal, 'SIGHUP');
});

test('once: the held arrival is the first; the next has the default action again (a second SIGTERM ends at once)', () => {
  const held = child(`
    const h = holdSignal('SIGTERM');
    process.kill(process.pid, 'SIGTERM');
    await later(50);
    h.release(() => console.log('draining'), { once: true });
    await later(50);
    process.kill(process.pid, 'SIGTERM');
    await later(200);
    console.log('alive');
  `);
  assert.equal(held.stdout, 'draining\n');
  assert.equal(held.signal, 'SIGTERM');
  const notYet = child(`
    holdSignal('SIGTERM').release(() => console.log('draining'), { once: true });
    process.kill(process.pid, 'SIGTERM');
    await later(50);
    process.kill(process.pid, 'SIGTERM');
    await later(200);
    console.log('alive');
  `);
  assert.equal(notYet.stdout, 'draining\n');
  assert.equal(notYet.signal, 'SIGTERM');
});

test('one hold per signal: a second holdSignal returns the first until it ends, so whoever took it, the start releases it', () => {
  const result = child(`
    const early = holdSignal('SIGHUP'); // the bin entry
    process.kill(process.pid, 'SIGHUP');
    await later(50);
    const later_ = holdSignal('SIGHUP'); // the start, unaware of the first
    console.log(early === later_ ? 'same' : 'another');
    later_.release(() => console.log('reload'));
    early.drop(); // ended already: no effect, the handler stays
    process.kill(process.pid, 'SIGHUP');
    await later(50);
    console.log(holdSignal('SIGHUP') === early ? 'same' : 'a new one');
    process.removeAllListeners('SIGHUP');
  `);
  assert.equal(result.signal, null);
  assert.equal(result.stdout, 'same\nreload\nreload\na new one\n');
});
