"""A ``.dvc`` pointer's md5 read without a YAML parser gives what DVC's loader gives.

`annover status`, `gc` and the listings of many versions read one ``objects.dvc`` pointer a
version; those DVC wrote are read by a pattern, every other text by DVC's YAML loader. The
pattern must never give an md5 the loader would not: checked on pointers DVC's own writer
makes, and on hand-edited ones (fields repeated, reordered, commented, quoted, indented).
"""

from __future__ import annotations

import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st

import dvc.utils.serialize as dvc_serialize

from annover.store import dvc as dvc_adapter

HEX = "0123456789abcdef"


def by_yaml(text: str) -> str | None:
    """What the loader alone gives (the code before the pattern)."""
    try:
        doc = dvc_serialize.parse_yaml(text, "x.dvc")
    except dvc_serialize.ParseError:
        return None
    outs = doc.get("outs") if isinstance(doc, dict) else None
    md5 = outs[0].get("md5") if isinstance(outs, list) and outs and isinstance(outs[0], dict) else None
    return md5 if isinstance(md5, str) else None


md5s = st.one_of(
    st.text(HEX, min_size=32, max_size=32),
    st.text("0123456789", min_size=32, max_size=32),  # YAML reads digits alone as an int
    st.builds(lambda a, b: a + "e" + b, st.text("0123456789", min_size=15, max_size=15),
              st.text("0123456789", min_size=16, max_size=16)),  # ... and one e among digits as a float
    st.text(HEX, min_size=30, max_size=34),
)
suffix = st.sampled_from(["", ".dir", ".DIR", ".dir.dir"])
#: the fields DVC writes after the md5 (any subset, any order), or others of any value
usual = st.lists(st.sampled_from([("size", 12787), ("nfiles", 5), ("hash", "md5"), ("path", "objects"),
                                  ("path", "a.b-c_d"), ("size", 0)]), max_size=5).map(dict)
odd = st.dictionaries(st.sampled_from(["size", "nfiles", "hash", "path", "md5", "cloud", "etag"]),
                         st.one_of(st.integers(0, 10**12), st.sampled_from(["md5", "objects", "a b", "x: y", "-1",
                                                                              "'q'", "#c", "null", "[1]"]),
                                   st.text(max_size=8)), max_size=5)
fields = st.one_of(usual, odd)


@st.composite
def dvc_written(draw: st.DrawFn) -> str:
    """A pointer of one output as DVC's writer makes it (its md5 first, as DVC does)."""
    md5 = draw(st.one_of(st.text(HEX, min_size=32, max_size=32).map(lambda h: h + ".dir"),  # a listing's
                         st.tuples(md5s, suffix).map("".join)))
    out = {"md5": md5, **{k: v for k, v in draw(fields).items() if k != "md5"}}
    return dvc_serialize.dumps_yaml({"outs": [out]})


@st.composite
def hand_edited(draw: st.DrawFn) -> str:
    """A DVC-written pointer with a line repeated, dropped, commented, indented or quoted."""
    lines = draw(dvc_written()).split("\n")
    i = draw(st.integers(0, len(lines) - 1))
    edit = draw(st.sampled_from(["repeat", "drop", "comment", "indent", "quote", "tail", "crlf", "second"]))
    if edit == "repeat":
        lines.insert(i, lines[i])
    elif edit == "drop":
        del lines[i]
    elif edit == "comment":
        lines[i] += " # note"
    elif edit == "indent":
        lines[i] = " " + lines[i]
    elif edit == "quote":
        lines[i] = lines[i].replace(": ", ": '", 1) + "'"
    elif edit == "tail":
        lines.append(draw(st.sampled_from(["deps: []", "md5: " + "a" * 32, "  md5: " + "b" * 32, "- md5: c", "..."])))
    elif edit == "crlf":
        return "\r\n".join(lines)
    else:
        lines.append("- md5: " + "d" * 32 + ".dir")
    return "\n".join(lines)


@settings(max_examples=200, deadline=None)
@given(dvc_written())
def test_pointers_dvc_writes_read_as_its_loader_reads_them(text: str) -> None:
    assert dvc_adapter._out_md5(text, "x.dvc") == by_yaml(text)


@settings(max_examples=200, deadline=None)
@given(hand_edited())
def test_edited_pointers_read_as_its_loader_reads_them(text: str) -> None:
    assert dvc_adapter._out_md5(text, "x.dvc") == by_yaml(text)


def test_the_pointer_annover_writes_takes_the_quick_path(tmp_path, monkeypatch) -> None:
    """A real pointer of a version (written by DVC through annover) is read without the
    loader: a regression test of the path that `status` and `gc` take per version."""
    import annover

    (tmp_path / "r").mkdir()
    subprocess.run(["git", "init", "-q", str(tmp_path / "r")], check=True)
    monkeypatch.chdir(tmp_path / "r")
    annover.init(".")
    flat = tmp_path / "a.csv"
    flat.write_text("task_key,label,annotator\nt1,a,x@y\nt2,b,x@y\n")
    cfg = tmp_path / "c.xml"
    cfg.write_text('<View><Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="a"/>'
                   '<Choice value="b"/></Choices></View>')
    annover.Repo(".").snapshot(str(flat), config=str(cfg), message="v1")
    text = (tmp_path / "r" / ".annover" / "objects.dvc").read_text()
    want = by_yaml(text)
    assert want is not None and want.endswith(".dir")

    def no_loader(*a, **k):
        raise AssertionError("the YAML loader was used for a pointer DVC wrote")

    monkeypatch.setattr(dvc_adapter.dvc_serialize, "parse_yaml", no_loader)
    assert dvc_adapter.listing_of(text, "objects.dvc") == want
