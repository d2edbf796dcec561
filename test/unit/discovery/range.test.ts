import * as assert from 'node:assert/strict';
import { expandRange } from '../../../discovery/range';
import { isHostPort } from '../../../lib/host-port';

describe('discovery range generator', () => {
  it('expands an IP range inclusively', () => {
    assert.deepEqual(expandRange('10.0.0.[10:12]:2375'), ['10.0.0.10:2375', '10.0.0.11:2375', '10.0.0.12:2375']);
  });
  it('expands a range anywhere in the string, e.g. inside the port', () => {
    assert.deepEqual(expandRange('192.168.1.2:[2:4]375'), ['192.168.1.2:2375', '192.168.1.2:3375', '192.168.1.2:4375']);
  });
  it('keeps entries without a range, or with non-integer bounds, literally', () => {
    assert.deepEqual(expandRange('10.0.0.1:2375'), ['10.0.0.1:2375']);
    assert.deepEqual(expandRange('10.0.0.[a:b]:2375'), ['10.0.0.[a:b]:2375']);
    assert.deepEqual(expandRange('10.0.0.[1.5:3]:2375'), ['10.0.0.[1.5:3]:2375']);
  });
  it('yields nothing for a reversed range, like classic', () => {
    assert.deepEqual(expandRange('10.0.0.[3:1]:2375'), []);
  });
  it('validates host:port like net.SplitHostPort', () => {
    assert.ok(isHostPort('node-1:2375'));
    assert.ok(isHostPort('[::1]:2375'));
    assert.ok(!isHostPort('node-1'));
    assert.ok(!isHostPort('node-1:'));
    assert.ok(!isHostPort('node-1:99999'));
    assert.ok(!isHostPort('a b:1'));
  });
});
