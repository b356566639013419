"""First-run notices on stderr, and --quiet."""

from __future__ import annotations

from faceapi_np import notice


def test_say_writes_one_line_unless_quiet(monkeypatch, capsys):
    monkeypatch.delenv(notice.QUIET_ENV, raising=False)
    notice.say("fetching 18 files ...")
    assert capsys.readouterr().err == "faceapi_np: fetching 18 files ...\n"
    monkeypatch.setenv(notice.QUIET_ENV, "1")
    notice.say("fetching 18 files ...")
    assert capsys.readouterr().err == ""
    monkeypatch.setenv(notice.QUIET_ENV, "0")
    assert not notice.quiet()
