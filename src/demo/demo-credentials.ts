/**
 * The demo's credential lines: a read-only and a read-write token for a demo account, created in
 * the demo's own store (`.demo/portcullis.db`), shown once in the curl lines.
 */
import { loadConfigFile } from '../config/index.js';
import { openStore, storeOptionsOf } from '../credentials/index.js';

/** `curl`: the command line's start, `curl --cacert …/ca.pem` (the gateway serves the demo CA's certificate). */
export async function demoCredentialLines(configFile: string, gatewayUrl: string, curl: string): Promise<string[]> {
  const loaded = loadConfigFile(configFile);
  if (!loaded.ok) return [];
  const store = await openStore(loaded.config.store.url, storeOptionsOf(loaded.config.store));
  try {
    if ((await store.accounts.get('demo')) === undefined) await store.accounts.create('demo', 'read-write');
    const expiresAt = new Date(Date.now() + 24 * 3600_000);
    const reader = await store.tokens.create({ label: 'demo reader', scope: 'read-only', account: 'demo', expiresAt });
    const writer = await store.tokens.create({ label: 'demo writer', scope: 'read-write', account: 'demo', expiresAt });
    return [
      '  # passes: a read-only token may read the private route (the upstream sees X-Portcullis-*)',
      `  ${curl} -i -H 'Authorization: Bearer ${reader.token}' ${gatewayUrl}/api/hello`,
      '  # refused: 403 auth.insufficient_scope (a read-only token cannot write)',
      `  ${curl} -i -X POST -H 'Authorization: Bearer ${reader.token}' ${gatewayUrl}/api/hello`,
      '  # passes: a read-write token may write',
      `  ${curl} -i -X POST -H 'Authorization: Bearer ${writer.token}' -d '{"hello":"world"}' ${gatewayUrl}/api/hello`,
      `  # revoke it, then the line above answers 401 auth.token_revoked:  npx portcullis tokens revoke ${writer.record.id} --config config/demo.yaml`,
    ];
  } finally {
    await store.close();
  }
}
