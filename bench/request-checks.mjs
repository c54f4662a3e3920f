// The synchronous per-request checks of a cached request, timed outside any server: framing
// guard, path safety, authorize, require and the upstream header list, on a typical Bearer GET
// with a query (and the method-override scan) from an untrusted peer. Run it against two builds
// to compare them (decisions/0012): node bench/request-checks.mjs [path/to/dist]
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = path.resolve(process.argv[2] ?? 'dist');
const load = (file) => import(pathToFileURL(path.join(dist, 'src', file)).href);
const guard = await load('listen/framing-guard.js');
const { parseRequestTarget } = await load('listen/request-target.js');
const { authorize } = await load('authorize/index.js');
const { checkRequired } = await load('require/index.js');
const { upstreamRequestHeaders } = await load('forward/header-rules.js');

const raw = [
  'Host',
  'api.example.com',
  'User-Agent',
  'bench/1.0',
  'Accept',
  'application/json',
  'Accept-Encoding',
  'gzip, br',
  'Authorization',
  'Bearer pcl_0123456789abcdef0123456789abcdef0123456789abcdefx',
  'Connection',
  'keep-alive',
  'X-Correlation-Id',
  'c-42',
];
const headers = {};
for (let i = 0; i < raw.length; i += 2) headers[raw[i].toLowerCase()] = raw[i + 1];
const req = {
  method: 'GET',
  url: '/profiles/7/orders?page=2&sort=desc',
  httpVersion: '1.1',
  httpVersionMajor: 1,
  httpVersionMinor: 1,
  rawHeaders: raw,
  headers,
  socket: { remoteAddress: '10.0.0.5' },
};
const route = {
  name: 'profiles',
  index: 0,
  host: { kind: 'any' },
  pathPrefix: '/profiles',
  methods: undefined,
  upstream: { origin: 'https://b:8443', hostname: 'b', port: 8443, servername: 'b', hostHeader: 'b:8443', basePath: '', ca: undefined },
  auth: 'required',
  access: 'read-only',
  credentials: new Set(['bearer']),
  requiredHeaders: ['x-correlation-id'],
  requiredQuery: [],
  timeoutMs: 30000,
  websocket: 'read-write',
  readsWithBody: false,
};
const principal = Object.freeze({ kind: 'api_token', scheme: 'bearer', subject: 'billing', scope: 'read-write', credentialId: 'tok_1' });
const facts = {
  peerAddress: '10.0.0.5',
  peerTrusted: false,
  proto: 'https',
  stripAuthorization: true,
  principal,
  upstreamHost: 'b:8443',
  requestId: 'rid-1',
};
const newAuthorize = typeof guard.guardMethodOverrideParameter === 'function';

function once() {
  guard.guardFraming(req);
  const target = parseRequestTarget(req.url);
  if (newAuthorize) guard.guardMethodOverrideParameter(req.method, target.search);
  authorize(route, newAuthorize ? req : req.method, principal);
  checkRequired(route, req, target.search);
  return upstreamRequestHeaders(req, facts).length;
}

let sink = 0;
for (let i = 0; i < 200_000; i++) sink += once();
const results = [];
for (let round = 0; round < 7; round++) {
  const n = 300_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += once();
  results.push(Number(process.hrtime.bigint() - started) / n);
}
results.sort((a, b) => a - b);
console.log(JSON.stringify({ dist, nsPerRequest: { min: +results[0].toFixed(1), median: +results[3].toFixed(1) }, sink: sink > 0 }));
