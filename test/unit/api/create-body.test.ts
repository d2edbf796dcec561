import assert from 'node:assert/strict';
import { validateCreateBody } from '../../../lib/api/create-body';

/** Messages recorded from dockerd 20.10 for the same bodies (see test/integration/hostile-input.test.ts). */
const CASES: Array<[unknown, string]> = [
  [{ Image: 'busybox', Env: [1, 2, {}] }, 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Env of type string'],
  [{ Image: 'busybox', Env: 'x' }, 'json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Env of type []string'],
  [{ Image: 'busybox', HostConfig: { Memory: 'x' } }, 'json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64'],
  [{ Image: 'busybox', HostConfig: { CpuShares: 1.5 } }, 'json: cannot unmarshal number 1.5 into Go struct field HostConfig.HostConfig.CpuShares of type int64'],
  [{ Image: 'busybox', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 80 }] } } }, 'json: cannot unmarshal number into Go struct field PortBinding.HostConfig.PortBindings.HostPort of type string'],
  [[], 'json: cannot unmarshal array into Go value of type runconfig.ContainerConfigWrapper'],
];

describe('create body type checks (validateCreateBody)', function () {
  it('refuses wrong types with a 400 and dockerd\'s message', function () {
    for (const [body, message] of CASES) {
      assert.throws(() => validateCreateBody(body), (err: { status: number; message: string }) => err.status === 400 && err.message === message, JSON.stringify(body));
    }
  });

  it('accepts well-typed bodies, nulls and string commands', function () {
    validateCreateBody({ Image: 'busybox', Cmd: 'ls', Env: null, HostConfig: null, Labels: { a: 'b' } });
    validateCreateBody({ Image: 'busybox', Cmd: ['ls', '-l'], HostConfig: { Memory: 6_000_000, PortBindings: { '80/tcp': null }, NetworkMode: 'x' } });
  });
});
