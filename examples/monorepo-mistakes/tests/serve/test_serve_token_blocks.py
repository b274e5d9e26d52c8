"""Block hashing, tested from the top-level tests/ tree."""

import pytest

from dynamo.common.tokens import block_hashes, decode, encode


@pytest.mark.pre_merge
@pytest.mark.unit
@pytest.mark.gpu_0
def test_block_hashes_share_a_prefix():
    a = block_hashes(encode("abcdefgh"), 4)
    b = block_hashes(encode("abcdxxxx"), 4)
    assert a[0] == b[0] and a[1] != b[1]
    assert decode(encode("héllo")) == "héllo"
