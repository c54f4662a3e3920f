import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../../src/errors.js';
import { checkRequired } from '../../src/require/index.js';
import { fakeRequest } from '../support/fake-request.js';
import { routePolicy } from '../support/route-policy.js';

const ROUTE = routePolicy({ requiredHeaders: ['x-correlation-id', 'x-api-version'], requiredQuery: ['serviceProvider', 'code'] });

function outcome(headers: readonly (readonly [string, string])[], search: string): string {
  try {
    checkRequired(ROUTE, fakeRequest({ headers }), search);
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof GatewayError);
    return `${error.code}: ${error.detail}`;
  }
}

const GOOD = [
  ['X-Correlation-Id', 'c'],
  ['X-Api-Version', '2'],
] as const;

test('present and non-empty headers and parameters pass', () => {
  assert.equal(outcome(GOOD, '?serviceProvider=sp&code=1'), 'ok');
  assert.equal(outcome(GOOD, '?code=1&serviceProvider=%20'), 'ok', 'an encoded space is a value');
  assert.equal(
    outcome(
      [
        ['x-correlation-id', 'c'],
        ['X-API-VERSION', '2'],
      ],
      '?service%50rovider=sp&code=1',
    ),
    'ok',
  );
  assert.equal(outcome(GOOD, '?serviceProvider=sp&code=1#frag'.replace('#frag', '')), 'ok');
});

test('every missing or empty header is named in one answer', () => {
  assert.equal(
    outcome([], '?serviceProvider=sp&code=1'),
    'request.missing_header: Missing required headers: x-correlation-id, x-api-version.',
  );
  assert.equal(
    outcome(
      [
        ['X-Correlation-Id', ' '],
        ['X-Api-Version', '2'],
      ],
      '',
    ),
    'request.missing_header: Missing required header: x-correlation-id.',
  );
});

test('a required item sent more than once, or with a spelling a backend folds into it, is refused naming it', () => {
  assert.equal(
    outcome(
      [
        ['X-Correlation-Id', ''],
        ['X-Correlation-Id', 'c'],
        ['X-Api-Version', '2'],
      ],
      '',
    ),
    'request.missing_header: Required header sent more than once: x-correlation-id.',
  );
  assert.equal(
    outcome(
      [
        ['X-Correlation-Id', 'c'],
        ['X_Correlation.Id', 'd'],
        ['X-Api-Version', '2'],
      ],
      '',
    ),
    'request.missing_header: Required header sent more than once: x-correlation-id.',
  );
  assert.equal(
    outcome(
      [
        ['X_Correlation_Id', 'c'],
        ['X-Api-Version', '2'],
      ],
      '',
    ),
    'request.missing_header: Missing required header: x-correlation-id.',
    'a folded spelling alone does not meet the requirement',
  );
  assert.equal(
    outcome(GOOD, '?serviceProvider=&serviceProvider=acme&code=1'),
    'request.missing_query_param: Required query parameter sent more than once: serviceProvider.',
  );
  assert.equal(
    outcome(GOOD, '?serviceProvider=a&code=&code=1'),
    'request.missing_query_param: Required query parameter sent more than once: code.',
  );
  assert.equal(
    outcome([], '?serviceProvider=a&serviceProvider=b'),
    'request.missing_header: Missing required headers: x-correlation-id, x-api-version.',
  );
});

test('a query parameter spelling a backend merges into the required name counts as a copy (PHP folding, case, [], ;)', () => {
  const repeated = 'request.missing_query_param: Required query parameter sent more than once: serviceProvider.';
  for (const query of [
    '?serviceProvider=acme&+serviceProvider=&code=1',
    '?serviceProvider=acme&%20serviceProvider=evil&code=1',
    '?serviceProvider=acme&serviceProvider%00x=evil&code=1',
    '?serviceProvider=acme&ServiceProvider=evil&code=1',
    '?serviceProvider=acme&SERVICEPROVIDER=evil&code=1',
    '?serviceProvider=acme&serviceProvider[]=evil&code=1',
    '?serviceProvider=acme&serviceProvider%5B0%5D=evil&code=1',
    '?serviceProvider=acme;serviceProvider=&code=1',
    '?code=1&serviceProvider=acme;serviceProvider=evil',
  ]) {
    assert.equal(outcome(GOOD, query), repeated, query);
  }
  // Names that only resemble it are other parameters.
  assert.equal(outcome(GOOD, '?serviceProvider=acme&serviceProviderId=7&x.serviceProvider=1&code=1'), 'ok');
});

test('every missing or empty query parameter is named in one answer; names are case-sensitive', () => {
  assert.equal(outcome(GOOD, ''), 'request.missing_query_param: Missing required query parameters: serviceProvider, code.');
  assert.equal(
    outcome(GOOD, '?serviceProvider='),
    'request.missing_query_param: Missing required query parameters: serviceProvider, code.',
  );
  assert.equal(
    outcome(GOOD, '?serviceprovider=sp&code=1'),
    'request.missing_query_param: Missing required query parameter: serviceProvider.',
  );
  assert.equal(outcome(GOOD, '?serviceProvider&code=1'), 'request.missing_query_param: Missing required query parameter: serviceProvider.');
});

test('a route without requirements checks nothing', () => {
  assert.doesNotThrow(() => checkRequired(routePolicy(), fakeRequest({}), ''));
});
