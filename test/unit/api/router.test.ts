import assert from 'node:assert/strict';
import { Router } from '../../../lib/api/router';

describe('Router', function () {
  const noop = (): void => undefined;
  const router = new Router()
    .get('/containers/json', noop)
    .get('/containers/{name}/json', noop)
    .post('/containers/{name}/start', noop)
    .delete('/containers/{name}', noop)
    .get('/images/{name}/json', noop);

  it('prefers literal routes listed first', function () {
    const m = router.match('GET', '/containers/json').found;
    assert.equal(m?.route.regex.source, '^\\/containers\\/json$');
    assert.deepEqual(m?.params, {});
  });

  it('lets a parameter span slashes (node-qualified names, repositories)', function () {
    assert.deepEqual(router.match('GET', '/containers/node-1/web/json').found?.params, { name: 'node-1/web' });
    assert.deepEqual(router.match('GET', '/images/library/busybox:latest/json').found?.params, { name: 'library/busybox:latest' });
  });

  it('decodes percent-encoded parameters', function () {
    assert.deepEqual(router.match('GET', '/containers/node-1%2Fweb/json').found?.params, { name: 'node-1/web' });
  });

  it('matches on method, and serves HEAD with GET routes', function () {
    assert.equal(router.match('POST', '/containers/web/json').found, undefined);
    assert.ok(router.match('HEAD', '/containers/web/json').found);
    assert.deepEqual(router.match('DELETE', '/containers/web').found?.params, { name: 'web' });
  });

  it('finds nothing for unknown paths', function () {
    assert.equal(router.match('GET', '/swarm/unlock').found, undefined);
  });
});
