/**
 * The demo's credential lines. Until the credential store is wired, there is nothing to show.
 */
export async function demoCredentialLines(_configFile: string, _gatewayUrl: string): Promise<string[]> {
  return [];
}
