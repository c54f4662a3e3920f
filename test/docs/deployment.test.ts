/**
 * The deployment files of docs/deployment.md (deploy/kubernetes, deploy/compose) are parsed and
 * checked against the real thing: the embedded Portcullis configuration loads with the real
 * loader (schema and semantic checks), probes point at the listener that serves /readyz and
 * /healthz, the database URL and the key-encryption key come from a Secret (never a literal),
 * selectors agree, and every port is one the Dockerfile exposes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfigText } from '../../src/config/index.js';
import type { GatewayConfig } from '../../src/config/types.js';
import { sharedCerts } from '../support/certs.js';
import { repoRoot } from '../support/repo.js';

const ROOT = repoRoot();
const read = (...parts: string[]): string => readFileSync(join(ROOT, ...parts), 'utf8');

/** Ports the image declares (`EXPOSE` in the Dockerfile). */
function exposedPorts(): Set<number> {
  const line = /^EXPOSE\s+(.+)$/m.exec(read('Dockerfile'));
  assert.ok(line?.[1], 'the Dockerfile exposes ports');
  return new Set(
    line[1]
      .trim()
      .split(/\s+/)
      .map((p) => Number(p.split('/')[0])),
  );
}

/** The image's default configuration path (`PORTCULLIS_CONFIG` in the Dockerfile). */
function imageConfigPath(): string {
  const match = /PORTCULLIS_CONFIG=(\S+)/.exec(read('Dockerfile'));
  assert.ok(match?.[1]);
  return match[1];
}

/**
 * Loads a configuration text as the gateway would. Absolute files of the manifests (mounted
 * Secrets and ConfigMaps) are mapped onto the test's certificates, since this machine has no
 * /tls; everything else is the loader's own checking.
 */
function load(text: string, env: Record<string, string>): GatewayConfig {
  const { ca, leaf } = sharedCerts();
  const mapped = text
    .replaceAll('/tls/tls.crt', leaf.certPath)
    .replaceAll('/tls/tls.key', leaf.keyPath)
    .replaceAll('/upstream-ca/ca.crt', ca.caCertPath);
  const result = loadConfigText(mapped, '/config/portcullis.yaml', env);
  if (!result.ok)
    assert.fail(
      `the configuration does not load:\n${result.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`).join('\n')}`,
    );
  return result.config;
}

const KEK = Buffer.alloc(32, 7).toString('base64');

interface K8sObject {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: unknown;
}
// Minimal views of the manifests' shapes, for typed access in the assertions.
interface Probe {
  httpGet: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface Container {
  name: string;
  args?: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports: { name: string; containerPort: number }[];
  readinessProbe: Probe;
  livenessProbe: Probe;
  volumeMounts: { name: string; mountPath: string }[];
}
interface Deployment extends K8sObject {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: Container[]; volumes: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[] };
    };
  };
}

const portOf = (listen: { port: number }): number => listen.port;

test("Kubernetes: three replicas probed on /readyz and /healthz, the database URL and KEK from a Secret, routes from a ConfigMap, a PodDisruptionBudget; the ports are the image's", () => {
  const docs = parseAllDocuments(read('deploy', 'kubernetes', 'portcullis.yaml'));
  for (const doc of docs) assert.deepEqual(doc.errors, [], 'valid YAML');
  const objects = docs.map((doc) => doc.toJS() as K8sObject);
  const byKind = (kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);
  assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service']);

  const deployment = byKind('Deployment')[0] as Deployment;
  assert.equal(deployment.spec.replicas, 3);
  const podLabels = deployment.spec.template.metadata.labels;
  for (const [key, value] of Object.entries(deployment.spec.selector.matchLabels))
    assert.equal(podLabels[key], value, 'the selector selects the pods');
  const container = deployment.spec.template.spec.containers[0];
  assert.ok(container);
  const envOf = (name: string) => container.env.find((e) => e.name === name);

  // Routes from the ConfigMap, mounted where PORTCULLIS_CONFIG points.
  const configPath = envOf('PORTCULLIS_CONFIG')?.value ?? imageConfigPath();
  const configDir = configPath.slice(0, configPath.lastIndexOf('/'));
  const configFile = configPath.slice(configPath.lastIndexOf('/') + 1);
  const configMount = container.volumeMounts.find((m) => m.mountPath === configDir);
  const configVolume = deployment.spec.template.spec.volumes.find((v) => v.name === configMount?.name);
  const configMap = byKind('ConfigMap').find((c) => c.metadata.name === configVolume?.configMap?.name) as
    (K8sObject & { data: Record<string, string> }) | undefined;
  assert.ok(configMap, `${configDir} is a ConfigMap`);
  const text = configMap.data[configFile];
  assert.ok(text, `the ConfigMap holds ${configFile}`);

  // Secrets come from a Secret through the environment, never from the ConfigMap.
  assert.match(text, /url: "\$\{PORTCULLIS_STORE_URL\}"/);
  assert.match(text, /keyEncryptionKey: "\$\{PORTCULLIS_KEK\}"/);
  assert.doesNotMatch(text, /postgres(ql)?:\/\//, 'no database URL (nor password) in the ConfigMap');
  assert.deepEqual(envOf('PORTCULLIS_STORE_URL')?.valueFrom?.secretKeyRef?.name, 'portcullis-secrets');
  assert.deepEqual(envOf('PORTCULLIS_KEK')?.valueFrom?.secretKeyRef?.name, 'portcullis-secrets');

  // The embedded configuration, loaded by the real loader with what the Secret would give.
  const config = load(text, {
    PORTCULLIS_STORE_URL: `postgres://portcullis:s3cret@db.internal:5432/portcullis?sslmode=verify-full&sslrootcert=${sharedCerts().ca.caCertPath}`,
    PORTCULLIS_KEK: KEK,
  });
  assert.match(config.store.url, /^postgres:\/\//);
  assert.equal(config.cache.maxStalenessMs, 1_000);
  assert.equal(config.oauth.keyEncryptionKey, KEK);
  assert.ok(config.tls, 'the proxy listener serves HTTPS');
  assert.ok(config.routes.length >= 2);

  // Probes on the listener that answers /readyz and /healthz (the metrics listener).
  const metricsPort = portOf(config.metrics.listen);
  const proxyPort = portOf(config.listen);
  const named = (port: string | number): number =>
    typeof port === 'number' ? port : (container.ports.find((p) => p.name === port)?.containerPort ?? -1);
  assert.equal(container.readinessProbe.httpGet.path, '/readyz');
  assert.equal(named(container.readinessProbe.httpGet.port), metricsPort);
  assert.equal(container.livenessProbe.httpGet.path, '/healthz');
  assert.equal(named(container.livenessProbe.httpGet.port), metricsPort);
  assert.equal(config.metrics.listen.host, '0.0.0.0', 'the kubelet reaches the probes from outside the pod');
  const readiness = container.readinessProbe;
  assert.ok((readiness.periodSeconds ?? 10) * (readiness.failureThreshold ?? 3) <= 10, 'an unready pod leaves the Service within seconds');

  // Ports: the image's, and the ones the configuration listens on.
  const exposed = exposedPorts();
  for (const { containerPort } of container.ports) assert.ok(exposed.has(containerPort), `port ${containerPort} is exposed by the image`);
  assert.ok(container.ports.some((p) => p.containerPort === proxyPort));
  assert.ok(container.ports.some((p) => p.containerPort === metricsPort));
  assert.ok(exposed.has(portOf(config.admin.listen)));
  assert.equal(config.admin.listen.host, '127.0.0.1', 'the admin API stays inside the pod');

  const service = byKind('Service')[0] as K8sObject & {
    spec: { selector: Record<string, string>; ports: { targetPort: string | number }[] };
  };
  for (const [key, value] of Object.entries(service.spec.selector)) assert.equal(podLabels[key], value);
  assert.deepEqual(
    service.spec.ports.map((p) => named(p.targetPort)),
    [proxyPort],
  );

  const pdb = byKind('PodDisruptionBudget')[0] as K8sObject & {
    spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
  };
  for (const [key, value] of Object.entries(pdb.spec.selector.matchLabels)) assert.equal(podLabels[key], value);
  assert.ok(
    pdb.spec.minAvailable >= 2 && pdb.spec.minAvailable < deployment.spec.replicas,
    'voluntary disruptions leave a majority, and a drain can proceed',
  );
});

test("compose: two gateways and PostgreSQL; the shared configuration loads; the ports are the image's", () => {
  const compose = parse(read('deploy', 'compose', 'compose.yaml')) as {
    services: Record<
      string,
      {
        image?: string;
        environment?: Record<string, string>;
        volumes?: string[];
        ports?: string[];
        depends_on?: Record<string, { condition: string }>;
      }
    >;
  };
  const gateways = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith('portcullis'));
  assert.equal(gateways.length, 2, 'two gateways');
  assert.ok(
    Object.values(compose.services).some((s) => s.image?.startsWith('postgres:')),
    'and PostgreSQL',
  );

  const text = read('deploy', 'compose', 'portcullis.yaml');
  const config = load(text, { PGPASSWORD: 'dev-password', PORTCULLIS_KEK: KEK });
  assert.match(config.store.url, /^postgres:\/\/portcullis:dev-password@postgres:5432\/portcullis/);
  assert.doesNotMatch(text, /dev-password|change-me/, 'the password comes from the environment');

  const exposed = exposedPorts();
  const published = new Set<string>();
  for (const [name, gateway] of gateways) {
    assert.equal(gateway.depends_on?.postgres?.condition, 'service_healthy', `${name} starts once the database answers`);
    assert.ok(
      gateway.volumes?.some((v) => v.startsWith('./portcullis.yaml:/config/portcullis.yaml')),
      `${name} mounts the shared configuration`,
    );
    assert.match(gateway.environment?.PORTCULLIS_KEK ?? '', /^\$\{PORTCULLIS_KEK/, `${name}: the KEK from the environment`);
    assert.match(gateway.environment?.PGPASSWORD ?? '', /^\$\{PGPASSWORD/);
    for (const mapping of gateway.ports ?? []) {
      const parts = mapping.split(':');
      const container = Number(parts.at(-1));
      const host = parts.slice(0, -1).join(':');
      assert.ok(exposed.has(container), `${name}: container port ${container} is exposed by the image`);
      assert.ok(
        [portOf(config.listen), portOf(config.metrics.listen)].includes(container),
        `${name}: ${container} is a port the configuration listens on`,
      );
      assert.ok(!published.has(host), `${name}: host port ${host} is not published twice`);
      published.add(host);
    }
  }
});
