"""An unknown revision's hint names the tag it may have meant: ``V1`` (the case), ``vv1`` (a typo), ``v7`` past
the numbers given. It said only "use a tag (annover log shows them) ...", so the user had to list them."""

from __future__ import annotations

import pytest

from annover.errors import RevisionError

CASES = [("V1", "did you mean v1? "), ("vv2", "did you mean v2? "), ("rc-1", "did you mean RC-1? "),
         ("v7", "the versions are numbered up to v2; "), ("main2", "")]


def test_an_unknown_revision_names_the_tag_it_may_have_meant(two_rounds):
    repo, v1, v2 = two_rounds
    repo.tag("RC-1", v1.id)
    assert sorted(repo.tags_of()[v1.id]) == ["RC-1", "v1"] and repo.tags_of()[v2.id] == ["v2"]
    for asked, near in CASES:
        with pytest.raises(RevisionError) as e:
            repo.show(asked)
        assert e.value.exit_code == 7 and e.value.message == f"unknown revision {asked!r}"
        assert e.value.hint.startswith(near + "use a tag (annover log shows them)"), (asked, e.value.hint)
