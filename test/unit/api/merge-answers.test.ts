import assert from 'node:assert/strict';
import { mergeAnswers } from '../../../lib/api/routes/maintenance';

describe('mergeAnswers (prune, system df)', function () {
  it('joins arrays, sums numbers, keeps the first other value', function () {
    const merged = mergeAnswers([
      { ContainersDeleted: ['a'], SpaceReclaimed: 10, Note: 'x' },
      { ContainersDeleted: null, SpaceReclaimed: 5 },
      { ContainersDeleted: ['b', 'c'], SpaceReclaimed: 0, Note: 'y' },
    ]);
    assert.deepEqual(merged, { ContainersDeleted: ['a', 'b', 'c'], SpaceReclaimed: 15, Note: 'x' });
    assert.deepEqual(mergeAnswers([]), {});
  });
});
