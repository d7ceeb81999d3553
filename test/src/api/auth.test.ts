import assert from 'node:assert/strict';
import { authenticate, generateToken, hashToken, UnauthorizedError } from '../../../src/api/auth';
import { matchesLabels, parseLabelSelector } from '../../../src/api/label-selector';
import { applyEndpointMergePatch } from '../../../src/api/endpoints';
import { FieldError } from '../../../src/api/problems';
import type { Endpoint } from '../../../src/store/model';

describe('bearer tokens', () => {
  const tokens = [
    { name: 'ops', admin: true, sha256: hashToken('s3cret-admin') },
    { name: 'ci', tenant: 'acme', sha256: hashToken('s3cret-acme') },
  ];

  it('maps a configured token to admin or its tenant, and anything else to 401', () => {
    assert.deepEqual(authenticate(tokens, 'Bearer s3cret-admin'), { kind: 'admin', name: 'ops' });
    assert.deepEqual(authenticate(tokens, 'bearer  s3cret-acme'), { kind: 'tenant', name: 'ci', tenant: 'acme' });
    for (const h of [undefined, '', 'Bearer garbage', 'Basic czNjcmV0', 'Bearer', 'Bearer s3cret-admin extra']) {
      assert.throws(() => authenticate(tokens, h), UnauthorizedError, String(h));
    }
  });

  it('without tokens every caller is anonymous (loopback-only API)', () => {
    assert.deepEqual(authenticate([], undefined), { kind: 'anonymous', name: 'anonymous' });
    assert.deepEqual(authenticate([], 'Bearer garbage'), { kind: 'anonymous', name: 'anonymous' });
  });

  it('generates random tokens whose hash is what the config stores', () => {
    const a = generateToken();
    const b = generateToken();
    assert.notEqual(a.token, b.token);
    assert.match(a.token, /^plx_[A-Za-z0-9_-]{43}$/);
    assert.equal(a.sha256, hashToken(a.token));
    assert.deepEqual(authenticate([{ name: 'n', admin: true, sha256: a.sha256 }], `Bearer ${a.token}`), { kind: 'admin', name: 'n' });
  });
});

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front' };
  const cases: [string, boolean][] = [
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['app=web,tier=front', true],
    ['app=web,tier!=front', false],
    ['tier', true],
    ['zone', false],
    ['!zone', true],
    ['!app', false],
    ['zone!=a', true],
  ];
  for (const [sel, expected] of cases) {
    it(`${sel} → ${expected}`, () => assert.equal(matchesLabels(labels, parseLabelSelector(sel)), expected));
  }
  it('rejects malformed selectors naming the parameter', () => {
    for (const bad of ['', 'a=b,,c', '=web', 'a b=c', 'app=we b']) {
      assert.throws(() => parseLabelSelector(bad), (err: unknown) => err instanceof FieldError && /labelSelector/.test(err.message), bad);
    }
  });
});

describe('JSON merge patch of an endpoint (RFC 7386)', () => {
  const cur = { id: 'e', name: 'n', labels: { a: '1', b: '2' }, securityGroups: ['sg'] } as unknown as Endpoint;
  it('merges labels, removes with null, leaves absent fields alone', () => {
    assert.deepEqual(applyEndpointMergePatch(cur, { labels: { a: null, c: '3' } }), { labels: { b: '2', c: '3' } });
    assert.deepEqual(applyEndpointMergePatch(cur, { name: null, securityGroups: null }), { name: '', securityGroups: [] });
    assert.deepEqual(applyEndpointMergePatch(cur, {}), {});
  });
});
