"""Security (issue 16): a malicious DVC remote writes nothing outside the clone, no credential
reaches git, a tracked file or a log, and push checks what the remote holds. Real git, real
DVC (a local folder remote; moto's S3 on 127.0.0.1), a real Label Studio for its key."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import annover
from annover.errors import ObjectError, RemoteError, UsageError
from annover.store import dvc as dvc_adapter
from annover.store.objects import shard

from .conftest import EXAMPLES
from .ls_fixtures import choice, ls, ls_server, project_factory, sdk_admin  # noqa: F401  (a real Label Studio)
from .test_daily_remote import _patient_remote, invoke, ok  # noqa: F401  (_patient_remote: autouse)
from .test_s3 import s3_env, s3_server  # noqa: F401  (fixtures: moto's S3 server on 127.0.0.1)

DVC = Path(sys.executable).with_name("dvc")
#: The S3 keys tests/test_s3.py gives moto (through the environment).
S3_TEST_KEYS = ("annover-test-key-id", "annover-test-secret-0123456789")


def snapshot(root: Path, n: int = 1) -> None:
    for f in ("labeling.xml", f"round{n}.json"):
        shutil.copy(EXAMPLES / f, root / f)
    ok("snapshot", "--from", str(root / f"round{n}.json"), "--key", "data.ext_id", "-m", f"round {n}",
       *(["--config", str(root / "labeling.xml")] if n == 1 else []))


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def files_under(top: Path, *but: Path) -> set[Path]:
    return {p for p in top.rglob("*") if not any(p == b or b in p.parents for b in but)}


# ---------------------------------------------------------------------- a malicious remote


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A repository with one version pushed to a folder remote (built once; each test copies it)."""
    mp = pytest.MonkeyPatch()
    base = tmp_path_factory.mktemp("published")
    mp.chdir(base)
    mp.setenv("DVC_NO_ANALYTICS", "1")
    mp.setenv("ANNOVER_CACHE_DIR", str(base / "cache"))  # before the function-scoped isolation: nothing in $HOME
    for k, v in {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.com", "GIT_COMMITTER_NAME": "A",
                 "GIT_COMMITTER_EMAIL": "a@example.com"}.items():
        mp.setenv(k, v)
    ok("init", str(base / "labels"), "--remote", str(base / "remote"))
    mp.chdir(base / "labels")
    snapshot(base / "labels")
    ok("push")
    mp.undo()
    return base


class Attack:
    """The published repository and its remote copied to ``top``, for an attacker to alter."""

    def __init__(self, published: Path, top: Path) -> None:
        self.top = top
        self.labels, self.remote = top / "labels", top / "remote"
        shutil.copytree(published / "labels", self.labels, symlinks=True)
        shutil.copytree(published / "remote", self.remote, symlinks=True)
        self.pointer = self.labels / ".annover" / "objects.dvc"
        self.listing = re.search(r"md5: ([0-9a-f]{32})\.dir", self.pointer.read_text()).group(1)

    def remote_file(self, md5: str) -> Path:
        return self.remote / "files" / "md5" / md5[:2] / md5[2:]

    def entries(self) -> list[dict]:
        return json.loads(self.remote_file(self.listing + ".dir").read_bytes())

    def put(self, data: bytes, suffix: str = "") -> str:
        md5 = hashlib.md5(data).hexdigest()
        f = self.remote_file(md5 + suffix)
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(data)
        return md5

    def publish_listing(self, entries: list[dict], pointer_path: str | None = None) -> None:
        """A new listing on the remote, and the commit that made the version amended to record it
        (its tag moved with it): what a clone of the attacker's repository gets."""
        md5 = self.put(json.dumps(entries, sort_keys=True).encode(), ".dir")
        text = self.pointer.read_text().replace(self.listing, md5)
        if pointer_path is not None:
            text = text.replace("path: objects", f"path: {pointer_path}")
        self.pointer.write_text(text)
        git("commit", "-q", "--amend", "--no-edit", "-a", cwd=self.labels)
        git("tag", "-f", "v1", cwd=self.labels)

    def clone(self, name: str) -> Path:
        dest = self.top / name
        git("clone", "-q", str(self.labels), str(dest), cwd=self.top)
        # the committed remote is the published one: this clone reads the attacker's copy
        subprocess.run([str(DVC), "remote", "add", "--local", "-f", "annover", str(self.remote)], cwd=dest,
                       check=True, capture_output=True)
        return dest


PAYLOAD = b"written by a malicious DVC remote\n"


def _outside(attack: Attack) -> Path:
    return attack.top / "pwned.txt"  # .annover/objects/../../../pwned.txt of a clone in attack.top


def _tamper(case: str, attack: Attack) -> str:
    """Alter the remote (and the repository) as ``case`` says; what the refusal must name."""
    entries = attack.entries()
    payload = attack.put(PAYLOAD)
    if case == "dotdot":
        attack.publish_listing([*entries, {"md5": payload, "relpath": "../../../pwned.txt"}])
        return "'../../../pwned.txt'"
    if case == "absolute":
        attack.publish_listing([*entries, {"md5": payload, "relpath": str(_outside(attack))}])
        return f"relpath {str(_outside(attack))[:40]!r}"[:-1]
    if case == "backslash":
        attack.publish_listing([*entries, {"md5": payload, "relpath": "..\\..\\..\\pwned.txt"}])
        return "pwned.txt"
    if case == "md5 path":  # a valid object path, its md5 a path out of DVC's cache
        attack.publish_listing([*entries, {"md5": "../../../../../pwned.txt", "relpath": "ab/" + "c" * 62}])
        return "md5 '../../../../../pwned.txt'"
    if case == "not in the manifests":  # well formed, but not one of the version's objects
        rel = "ab/" + "c" * 62
        attack.publish_listing([*entries, {"md5": payload, "relpath": rel}])
        return f"entry {rel} is not one of the"
    if case == "pointer path":  # the listing untouched, the pointer's output moved outside
        attack.publish_listing(entries, pointer_path="../../pwned-dir")
        return "'../../pwned-dir'"
    assert case == "listing altered in place"
    attack.remote_file(attack.listing + ".dir").write_bytes(
        json.dumps([*entries, {"md5": payload, "relpath": "../../../pwned.txt"}], sort_keys=True).encode())
    return "does not match its md5"


CASES = ["dotdot", "absolute", "backslash", "md5 path", "not in the manifests", "pointer path",
         "listing altered in place"]


@pytest.mark.parametrize("case", CASES)
def test_a_malicious_remote_listing_is_refused_before_anything_is_written(published, tmp_path, monkeypatch, case):
    attack = Attack(published, tmp_path)
    named = _tamper(case, attack)
    victim = attack.clone("victim")
    before = files_under(tmp_path, victim)
    monkeypatch.chdir(victim)
    code, out, err = invoke("pull")
    assert code == ObjectError.exit_code, err
    assert out == "" and err.count("\n") == 1 and err.startswith("Error: refused ") and named in err, err
    assert "nothing was written" in err
    assert files_under(tmp_path, victim) == before  # nothing outside the clone
    assert not any(p.is_file() for p in (victim / ".annover" / "objects").rglob("*"))  # nor checked out
    assert not _outside(attack).exists() and not (tmp_path / "pwned-dir").exists()
    payload = hashlib.md5(PAYLOAD).hexdigest()
    assert not (victim / ".dvc" / "cache" / "files" / "md5" / shard(payload)).exists()  # not even fetched


def test_plain_dvc_pull_of_the_same_listing_does_write_outside(published, tmp_path):
    """The attack the test above refuses is real: DVC follows the listing out of the clone."""
    attack = Attack(published, tmp_path)
    _tamper("dotdot", attack)
    victim = attack.clone("victim")
    subprocess.run([str(DVC), "pull", "-q"], cwd=victim, capture_output=True)
    assert _outside(attack).read_bytes() == PAYLOAD


def test_the_published_listing_untampered_pulls_and_checks_out(published, tmp_path, monkeypatch):
    attack = Attack(published, tmp_path)
    victim = attack.clone("victim")
    monkeypatch.chdir(victim)
    ok("pull")
    c = annover.Repo(victim)
    assert {shard(r.oid) for r in c.objects_of(c.version(c.head()))} == {
        p.relative_to(victim / ".annover" / "objects").as_posix()
        for p in (victim / ".annover" / "objects").rglob("*") if p.is_file()}


# ---------------------------------------------------------------------- secrets stay out of git


SECRET_CASES = {
    "s3 options": ("s3://bucket/labels", {
        "endpointurl": "http://127.0.0.1:9", "access_key_id": "AKIAS3OPTIONID01",
        "secret_access_key": "s3-secret-Opt1on/+=", "session_token": "s3-sess-T0ken"}),
    "azure options": ("azure://container/labels", {
        "account_name": "labelsacct", "account_key": "azure-acc0unt-key==",
        "connection_string": "DefaultEndpointsProtocol=https;AccountKey=az-cs",
        "sas_token": "sv=2024&sig=az-sas-s1g", "client_secret": "az-cl1ent"}),
    "ssh options": ("ssh://host.example.com/srv/labels", {
        "port": "2222", "password": "ssh-passw0rd", "passphrase": "ssh-passphr4se", "keyfile": "/keys/ssh-key-f1le"}),
    "webdav options": ("webdavs://dav.example.com/labels", {
        "token": "dav-t0ken", "user": "dav-us3r", "password": "dav-passw0rd"}),
    "gdrive options": ("gdrive://folderid", {"gdrive_client_id": "gd-client", "gdrive_client_secret": "gd-s3cret"}),
    "https userinfo": ("https://alice-h:https-Passw0rd%40x@dvc.example.com/labels", {}),
    "https userinfo, '@' in the password": ("https://alice-a:https-Pa@ssw0rd-at@dvc.example.com/labels", {}),
    "s3 userinfo": ("s3://AKIAUSERINFOID1:s3-userinfo/s3cret+KEY@bucket/labels", {"endpointurl": "http://127.0.0.1:9"}),
    "ssh user": ("ssh://deploy-us3r@host.example.com/srv/labels", {}),
}
#: What is public in each case (stays in .dvc/config, so clones have it)
PUBLIC = {"endpointurl", "account_name", "port", "gdrive_client_id"}


def _secrets(url: str, options: dict[str, str]) -> dict[str, str]:
    """The credentials of a case: option -> value, those in the URL under DVC's names."""
    bare, from_url = dvc_adapter.split_userinfo(url)
    return {**{k: v for k, v in options.items() if k not in PUBLIC}, **from_url}


def test_a_password_with_an_at_sign_is_split_at_the_last_one_and_never_shown():
    """``https://u:pa@ss@host``: the userinfo ends at the authority's last '@' (RFC 3986), as urllib
    reads it; split at the first one, 'ss' went to the committed .dvc/config and to messages as a user."""
    url = "https://alice:pa@ss@host.example.com/labels"
    assert dvc_adapter.split_userinfo(url) == ("https://host.example.com/labels",
                                               {"user": "alice", "password": "pa@ss"})
    assert dvc_adapter.redact(url) == "https://***@host.example.com/labels"
    both = "s3://KEY:ab/c@d@bucket/labels"  # '/' and '@' unescaped in the password: where it ends is a guess
    assert dvc_adapter.redact(both) == "s3://***@bucket/labels"
    with pytest.raises(UsageError, match="%40") as e:
        dvc_adapter.split_userinfo(both)
    assert "ab/c" not in str(e.value) and "d@" not in str(e.value)


def leaks(root: Path, secrets: list[str], outputs: list[str] = ()) -> list[str]:
    """Where any of ``secrets`` is: a file of the repository but ``.dvc/config.local`` (where they
    belong; git ignores it), any git object (reachable or not, loose or packed, read through git),
    git's and annover's logs, DVC's temporary files, or the command outputs given."""
    places: dict[str, bytes] = {}
    for p in root.rglob("*"):
        if p.is_file() and p != root / ".dvc" / "config.local":
            places[p.relative_to(root).as_posix()] = p.read_bytes()
    places["git objects"] = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=root,
                                           capture_output=True, check=True).stdout
    places["git log -p --all"] = subprocess.run(["git", "log", "-p", "--all"], cwd=root, capture_output=True,
                                                check=True).stdout
    places |= {f"output {i}": o.encode() for i, o in enumerate(outputs)}
    found = []
    for s in secrets:
        forms = {s.encode(), s.replace("/", "%2F").encode(), s.replace("@", "%40").encode()}
        found += [f"{s!r} in {where}" for where, data in places.items() if any(f in data for f in forms)]
    return found


def _dvc_sees(root: Path) -> dict:
    import dvc.repo

    with dvc.repo.Repo(str(root)) as d:
        return dict(d.config["remote"]["annover"])


@pytest.mark.parametrize("case", list(SECRET_CASES))
def test_credentials_in_remote_options_and_urls_never_reach_git_or_a_log(tmp_path, monkeypatch, case):
    url, options = SECRET_CASES[case]
    secrets = _secrets(url, options)
    assert secrets, "every case has a credential"
    opts = [a for k, v in options.items() for a in ("--remote-option", f"{k}={v}")]
    root = tmp_path / "labels"
    outputs = list(ok("init", str(root), "--remote", url, *opts))  # a new repository
    monkeypatch.chdir(root)
    other = tmp_path / "labels-later"
    ok("init", str(other))
    monkeypatch.chdir(other)
    snapshot(other)
    outputs += ok("init", str(other), "--remote", url, *opts)  # set on a repository with versions
    outputs += ok("init", str(other), "--remote", url, *opts, "--json")
    for r in (root, other):
        assert leaks(r, list(secrets.values()), outputs) == []
        local = (r / ".dvc" / "config.local").read_text()
        assert all(v in local for v in secrets.values())
        assert git("check-ignore", ".dvc/config.local", cwd=r).strip() == ".dvc/config.local"
        committed = git("show", "HEAD:.dvc/config", cwd=r)
        assert dvc_adapter.split_userinfo(url)[0] in committed and "@" not in committed
        assert all(f"{k} = {v}" in committed for k, v in options.items() if k in PUBLIC)
        seen = _dvc_sees(r)  # DVC reads both files
        assert {k: str(seen.get(k)) for k in ("url", *options, *secrets)} == {
            "url": dvc_adapter.split_userinfo(url)[0], **options, **secrets}
    assert any("config.local" in o for o in outputs)  # said where they went


def test_a_url_valued_option_with_credentials_is_committed_without_them(tmp_path, monkeypatch):
    """``--remote-option endpointurl=http://user:pw@proxy`` (a gs:// remote): .dvc/config (committed)
    has the endpoint without the user and password, .dvc/config.local the whole URL, and DVC
    reads that. An S3 endpoint with them is refused first: the S3 client refuses such a URL."""
    endpoint = "http://proxy-us3r:proxy-Passw0rd%2Fx@127.0.0.1:9"
    root = tmp_path / "labels"
    code, out, err = invoke("init", str(root), "--remote", "s3://bucket/labels", "--remote-option",
                            f"endpointurl={endpoint}")
    assert code == 2 and "access_key_id" in err and "proxy-Passw0rd" not in err and not root.exists(), err
    outputs = list(ok("init", str(root), "--remote", "gs://bucket/labels", "--remote-option",
                      f"endpointurl={endpoint}", "--remote-option", "projectname=labels-proj"))
    monkeypatch.chdir(root)
    other = tmp_path / "labels-later"
    ok("init", str(other))
    monkeypatch.chdir(other)
    snapshot(other)  # on a repository with versions: the note on what clones type shows no credential
    outputs += ok("init", str(other), "--remote", "gs://bucket/labels", "--remote-option", f"endpointurl={endpoint}")
    for r in (root, other):
        assert leaks(r, ["proxy-Passw0rd%2Fx", "proxy-Passw0rd/x", "proxy-us3r"], outputs) == []
        committed = git("show", "HEAD:.dvc/config", cwd=r)
        assert "endpointurl = http://127.0.0.1:9" in committed and "@" not in committed
        assert endpoint in (r / ".dvc" / "config.local").read_text()
        assert str(_dvc_sees(r)["endpointurl"]) == endpoint
    assert any("endpointurl" in o and "config.local" in o for o in outputs)


def test_init_again_keeps_the_credentials_of_the_same_kind_of_remote(tmp_path, monkeypatch):
    """``annover init . --remote URL`` run again (the same remote, or another S3 bucket) keeps the
    keys ``.dvc/config.local`` holds for it; a remote of another type drops them (DVC refuses
    options not of its type), and says nothing it did not do."""
    root = tmp_path / "labels"
    keys = ["--remote-option", "access_key_id=AKIAKEEPME000001", "--remote-option", "secret_access_key=keep/Me+0"]
    ok("init", str(root), "--remote", "s3://team/labels", "--remote-option", "endpointurl=http://127.0.0.1:9", *keys)
    monkeypatch.chdir(root)
    for url in ("s3://team/labels", "s3://team/labels-2"):
        _, err = ok("init", ".", "--remote", url)
        seen = _dvc_sees(root)
        assert (seen["url"], seen["access_key_id"], seen["secret_access_key"]) == (url, "AKIAKEEPME000001", "keep/Me+0")
        assert "kept access_key_id, secret_access_key" in err
    _, err = ok("init", ".", "--remote", str(tmp_path / "folder"))
    assert "access_key_id" not in (root / ".dvc" / "config.local").read_text() and "kept" not in err
    assert leaks(root, ["keep/Me+0"]) == []


def test_a_url_with_credentials_dvc_cannot_take_from_options_is_refused(tmp_path):
    code, out, err = invoke("init", str(tmp_path / "r"), "--remote", "gs://u:gs-Secr3t@bucket/labels")
    assert code == UsageError.exit_code and "gs-Secr3t" not in out + err and "--remote-option" in err
    assert not (tmp_path / "r" / ".dvc" / "config").exists() or "gs-Secr3t" not in (
        tmp_path / "r" / ".dvc" / "config").read_text()


def test_every_credential_option_is_one_dvc_knows_for_its_remote_type():
    from dvc.config_schema import REMOTE_SCHEMAS

    for scheme, names in dvc_adapter.CREDENTIALS.items():
        known = {str(k) for k in REMOTE_SCHEMAS[scheme]}
        assert names <= known, (scheme, names - known)
        assert all(dvc_adapter.is_secret_option(n, f"{scheme}://x/y") for n in names)
    assert not dvc_adapter.is_secret_option("endpointurl", "s3://b/p")
    assert not dvc_adapter.is_secret_option("region", "s3://b/p")


@pytest.mark.s3
def test_s3_keys_in_the_url_go_to_the_local_config_and_dvc_pushes_with_them(tmp_path, monkeypatch, s3_env):
    endpoint, bucket = s3_env
    key_id, secret = "AKIAURLKEYID0001", "url-secret/With+Slash=0123"
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # DVC has only .dvc/config.local to go by
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    root = tmp_path / "labels"
    outputs = list(ok("init", str(root), "--remote", f"s3://{key_id}:{secret}@{bucket}/store",
                      "--remote-option", f"endpointurl={endpoint}"))
    monkeypatch.chdir(root)
    snapshot(root)
    outputs += ok("push")
    outputs += ok("status")
    assert annover.Repo(root).status().pushed is True
    assert leaks(root, [key_id, secret], outputs) == []
    # without them, DVC cannot push: it was the local config's keys that did
    (root / ".dvc" / "config.local").unlink()
    snapshot(root, 2)
    code, _, err = invoke("push")
    assert code == RemoteError.exit_code and secret not in err


# ---------------------------------------------------------------------- push checks what the remote holds


def _repo_with_remote(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    root, remote = tmp_path / "labels", tmp_path / "remote"
    ok("init", str(root), "--remote", str(remote))
    monkeypatch.chdir(root)
    snapshot(root)
    return root, remote


def _a_part(repo) -> "annover.store.objects.ObjectRef":
    """An annotations part of HEAD (not a manifest: the object that DVC drops and annover must name)."""
    v = repo.version(repo.head())
    manifests = {s.manifest.oid for s in (v.snapshot("tasks"), v.snapshot("annotations")) if s}
    return next(r for r in repo.objects_of(v) if r.oid not in manifests and r != v.config_ref)


@pytest.mark.parametrize("mode", ["made writable", "read-only again"])
def test_push_of_a_corrupt_cache_copy_names_it_and_sends_no_listing(tmp_path, monkeypatch, mode):
    root, remote = _repo_with_remote(tmp_path, monkeypatch)
    repo = annover.Repo(root)
    part = _a_part(repo)
    cached = repo.dvc.cache_dir() / shard(part.md5)
    good = cached.read_bytes()
    cached.chmod(0o644)
    cached.write_bytes(b"bit rot" + good[7:])  # DVC drops a writable damaged copy, trusts a read-only one
    if mode == "read-only again":
        cached.chmod(0o444)
    code, out, err = invoke("push")
    assert code == ObjectError.exit_code and out == "" and err.count("\n") == 1, err
    assert part.md5 in err and part.oid[:12] in err and "corrupt" in err and "v1 (" in err
    listings = list(remote.rglob("*.dir"))
    assert listings == []  # the version is not on the remote: the next push sends it
    assert not (remote / "files" / "md5" / shard(part.md5)).exists()
    assert json.loads(ok("status", "--json")[0])["pushed"] is False
    # the good copy back: push completes, a clone pulls and reads it
    cached.chmod(0o644)
    cached.write_bytes(good)
    ok("push")
    clone = tmp_path / "clone"
    git("clone", "-q", str(root), str(clone), cwd=tmp_path)
    monkeypatch.chdir(clone)
    ok("pull")
    assert annover.Repo(clone).read_table("v1").equals(repo.read_table("v1"))


def test_push_sends_again_what_dvcs_index_of_the_remote_wrongly_says_is_there(tmp_path, monkeypatch):
    """Objects deleted from the remote after a push: DVC's index of it still lists them and DVC
    skips them; annover asks the remote, sees them missing and sends them."""
    root, remote = _repo_with_remote(tmp_path, monkeypatch)
    ok("push")
    repo = annover.Repo(root)
    part = _a_part(repo)
    (remote / "files" / "md5" / shard(part.md5)).unlink()
    for listing in remote.rglob("*.dir"):
        listing.unlink()
    assert json.loads(ok("status", "--json")[0])["pushed"] is False
    ok("push")
    assert (remote / "files" / "md5" / shard(part.md5)).read_bytes() == repo.store.get(part)
    assert json.loads(ok("status", "--json")[0])["pushed"] is True


def test_pull_replaces_a_damaged_copy_in_the_cache_and_the_work_tree(tmp_path, monkeypatch):
    root, _ = _repo_with_remote(tmp_path, monkeypatch)
    ok("push")
    clone = tmp_path / "clone"
    git("clone", "-q", str(root), str(clone), cwd=tmp_path)
    monkeypatch.chdir(clone)
    ok("pull")
    c = annover.Repo(clone)
    part = _a_part(c)
    for f in (c.dvc.cache_dir() / shard(part.md5), c.store.path(part.oid)):
        f.chmod(stat.S_IWUSR | stat.S_IRUSR)
        f.write_bytes(b"damaged")
    ok("pull")
    assert c.store.get(part) == annover.Repo(root).store.get(part)
    assert (c.dvc.cache_dir() / shard(part.md5)).read_bytes() == c.store.get(part)


def test_a_checkout_dvc_cannot_finish_is_a_one_line_remote_error(tmp_path, monkeypatch):
    """DVC's CheckoutError (a file the cache lacks at checkout) through the adapter pull uses."""
    root, _ = _repo_with_remote(tmp_path, monkeypatch)
    c = annover.Repo(root)
    v = c.version(c.head())
    part = _a_part(c)
    for f in (c.dvc.cache_dir() / shard(part.md5), c.store.path(part.oid)):
        f.unlink()
    pointer = c.dir / "objects.dvc"
    listing = dvc_adapter.listing_of(pointer.read_text(), "objects.dvc")
    with pytest.raises(RemoteError) as e:
        c.dvc.checkout(pointer, c.store.root, listing, {shard(r.oid): r.md5 for r in c.objects_of(v)}, "version v1")
    assert e.value.exit_code == 10 and "\n" not in str(e.value) and "could not check out 1 path(s)" in str(e.value)


# ---------------------------------------------------------------------- no credential anywhere


def _test_credentials() -> list[str]:
    """Every credential the tests use: Label Studio's API keys from the environment, moto's S3 keys."""
    env = [os.environ.get(k) for k in ("LABEL_STUDIO_API_KEY", "ANNOVER_TEST_LS_ANNOTATOR2_KEY")]
    return [k for k in (*env, *S3_TEST_KEYS) if k]


@pytest.mark.s3
def test_the_s3_keys_given_to_moto_are_in_no_file_history_or_log(tmp_path, monkeypatch, s3_env):
    endpoint, bucket = s3_env
    assert os.environ["AWS_SECRET_ACCESS_KEY"] in S3_TEST_KEYS  # the keys test_s3 gives moto
    root = tmp_path / "labels"
    outputs = list(ok("init", str(root), "--remote", f"s3://{bucket}/store", "--remote-option",
                      f"endpointurl={endpoint}"))
    monkeypatch.chdir(root)
    snapshot(root)
    snapshot(root, 2)
    for args in (("push",), ("status",), ("log",), ("show", "v1")):
        outputs += ok(*args)
    clone = tmp_path / "clone"
    git("clone", "-q", str(root), str(clone), cwd=tmp_path)
    monkeypatch.chdir(clone)
    outputs += ok("pull")
    for r in (root, clone):
        assert leaks(r, _test_credentials(), outputs) == []


@pytest.mark.labelstudio
def test_the_label_studio_keys_are_in_no_file_history_or_log(tmp_path, monkeypatch, ls_server, project_factory,
                                                             sdk_admin):
    p, sdk = project_factory("security"), sdk_admin
    sdk.projects.import_tasks(id=p.id, request=[{"data": {"id": f"s{i}", "text": t}} for i, t in enumerate(("a", "b"))])
    task = next(iter(sdk.tasks.list(project=p.id)))
    sdk.annotations.create(id=task.id, result=choice("pos"))
    root = tmp_path / "labels"
    outputs = list(ok("init", str(root)))
    monkeypatch.chdir(root)
    outputs += ok("snapshot", "--label-studio", p.title, "--key", "data.id", "-m", "from the server")
    outputs += ok("snapshot", "--label-studio", p.title, "-m", "again")
    outputs += ok("dataset", "list")
    outputs += ok("show", "HEAD")
    log = os.environ.get("ANNOVER_TEST_LS_LOG")
    if log and Path(log).is_file():  # the server's log: a key sent in a URL would show there
        outputs.append(Path(log).read_text(errors="replace"))
    keys = _test_credentials()
    assert ls_server.api_key in keys
    assert leaks(root, keys, outputs) == []
