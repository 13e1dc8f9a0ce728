"""KeySet: exact membership across merges, negative keys folded to 64 bits, sorted construction."""

from __future__ import annotations

import random

from etl.keyset import KeySet


def test_membership_is_exact_across_merges():
    rng = random.Random(7)
    keys = [rng.getrandbits(64) - (1 << 63) for _ in range(5000)]
    ks = KeySet(merge_at=64)
    for k in keys:
        assert ks.add(k)
    assert len(ks) == len(set(keys))
    assert all(k in ks for k in keys)
    assert not ks.add(keys[123])
    assert sum(rng.getrandbits(64) in ks for _ in range(5000)) == 0


def test_built_from_sorted_keys():
    ks = KeySet([1, 5, 9])
    assert 5 in ks and 4 not in ks and ks.add(4) and 4 in ks and len(ks) == 4


def test_unsorted_construction_is_sorted_once():
    ks = KeySet([9, 1, 5, 1])
    assert all(k in ks for k in (1, 5, 9)) and 4 not in ks and len(ks) == 3


def test_small_sets_stay_sets_and_large_ones_become_sorted_arrays():
    """Below merge_at the keys live in a plain set (fast lookups); from merge_at on in the sorted array, built
    from keys in any order: both answer alike."""
    rng = random.Random(11)
    keys = [rng.getrandbits(64) for _ in range(300)]
    small, large = KeySet(keys, merge_at=301), KeySet(keys, merge_at=300)
    assert len(small._sorted) == 0 and len(small._recent) == 300
    assert list(large._sorted) == sorted(keys) and not large._recent
    probes = keys + [rng.getrandbits(64) for _ in range(300)]
    assert [k in small for k in probes] == [k in large for k in probes] == [k in set(keys) for k in probes]
    assert not small.add(keys[0]) and not large.add(keys[0]) and small.add(1) and large.add(1)
