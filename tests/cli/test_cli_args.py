"""The command line: every option of the reference, defaults, usage errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from partyfuse import __version__, cli_mount
from partyfuse.cli import build_parser, main, parse_cli
from partyfuse.core.attrs import CacheConfig
from partyfuse.core.listings import DIALECTS

REFERENCE_OPTIONS = [
    "-a", "-te", "-teh", "-td", "--html", "-cdn", "-cds", "-cf", "-q", "-d",
    "--slowterm", "--logf", "--oth", "--nonempty", "--version", "-h",
    "--ls", "-r", "--background", "--st", "--timeout",
]  # fmt: skip


def test_help_lists_every_option_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ei:
        main(["-h"])
    assert ei.value.code == 0
    out = capsys.readouterr().out
    for opt in REFERENCE_OPTIONS:
        assert f" {opt}" in out, opt
    assert "base_url" in out and "local_path" in out
    assert "examples:" in out and "partyfuse http://" in out
    assert "username:password" in out


def test_windows_help_mentions_drive_letters() -> None:
    text = build_parser("win32").format_help()
    assert "drive letter" in text and " M:" in text
    assert " M:" not in build_parser("linux").format_help()


def test_help_unmount_example_is_this_oss_command() -> None:
    mac = build_parser("darwin").format_help()
    assert "; umount ./nas" in mac and "fusermount" not in mac
    linux = build_parser("linux").format_help()
    assert "fusermount -u ./nas" in linux or "fusermount3 -u ./nas" in linux
    # no --background on Windows: no example of it either
    assert "--background http" not in build_parser("win32").format_help()


def test_defaults() -> None:
    a = build_parser().parse_args(["http://h/", "mnt"])
    # upstream's -cds and -cf; -cdn 48 (upstream: 9), what the reference's tuning
    # advice gives deep trees: listings fetched ahead of a walk live in it
    assert (a.dir_cache_max, a.dir_cache_ttl, a.file_cache_blocks) == (48, 1.0, 12)
    assert CacheConfig().dir_max == a.dir_cache_max
    assert a.dialect == "auto"
    assert a.call_timeout == 60.0
    assert not (a.quiet or a.debug or a.slowterm or a.allow_other or a.nonempty or a.background)


def test_all_options_parse() -> None:
    a = build_parser().parse_args(
        ["-a", "pw", "-te", "c.pem", "-teh", "-td", "--html", "nginx", "-cdn", "0",
         "-cds", "0.5", "-cf", "24", "-q", "-d", "--slowterm", "--logf", "f.log",
         "--oth", "--nonempty", "--background", "http://h/", "mnt"]
    )  # fmt: skip
    assert (a.password_spec, a.trust_file, a.check_hostname, a.insecure, a.dialect) == (
        "pw",
        "c.pem",
        True,
        True,
        "nginx",
    )
    assert (a.dir_cache_max, a.dir_cache_ttl, a.file_cache_blocks) == (0, 0.5, 24)
    assert (a.log_file, a.quiet, a.debug, a.slowterm) == ("f.log", True, True, True)
    assert (a.allow_other, a.nonempty, a.background) == (True, True, True)


@pytest.mark.parametrize(
    "argv",
    [
        ["http://h/", "-q", "mnt"],
        ["-q", "http://h/", "mnt"],
        ["http://h/", "mnt", "-q"],
        ["http://h/", "-cf", "24", "-q", "mnt"],
    ],
)
def test_options_may_sit_between_the_positionals_like_upstream(argv: list[str]) -> None:
    a = parse_cli(build_parser(), argv)
    assert (a.base_url, a.local_path, a.quiet) == ("http://h/", "mnt", True)


def test_options_between_positionals_reach_the_mount_checks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the URL is refused (not the argument order): main parsed both positionals
    with pytest.raises(SystemExit) as ei:
        main(["ftp://h/", "-q", "/nonexistent-mnt"])
    err = capsys.readouterr().err
    assert "unrecognized arguments" not in err and ei.value.code != 0


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ei:
        main(["--version"])
    assert ei.value.code == 0
    assert capsys.readouterr().out.strip() == f"partyfuse {__version__}"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["http://h/"],
        ["--bogus", "http://h/", "mnt"],
        ["-cdn", "-1", "http://h/", "mnt"],
        ["-cds", "soon", "http://h/", "mnt"],
        ["-cds", "nan", "http://h/", "mnt"],
        ["-cf", "1.5", "http://h/", "mnt"],
        ["--html", "gopher", "http://h/", "mnt"],
        ["-r", "http://h/", "mnt"],
        ["--ls", "http://h/", "mnt"],
        ["http://h/", "mnt", "extra"],
    ],
)
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ei:
        main(argv)
    assert ei.value.code == 2
    err = capsys.readouterr().err
    assert "usage: partyfuse" in err and "Traceback" not in err


@pytest.mark.parametrize(("text", "want"), [("24.0", 24), ("0", 0), ("0.0", 0), ("1e2", 100)])
def test_cdn_takes_integral_floats_like_upstream(text: str, want: int) -> None:
    a = build_parser().parse_args(["-cdn", text, "http://h/", "mnt"])
    assert a.dir_cache_max == want and isinstance(a.dir_cache_max, int)


@pytest.mark.parametrize(
    ("opt", "text", "why"),
    [
        ("-cdn", "2.5", "not a whole number: '2.5'"),
        ("-cdn", "-1", "must be 0 or more: '-1'"),
        ("-cdn", "-1.0", "must be 0 or more: '-1.0'"),
        ("-cdn", "nan", "not a whole number: 'nan'"),
        ("-cdn", "inf", "not a whole number: 'inf'"),
        ("-cdn", "lots", "not a whole number: 'lots'"),
        ("-cds", "-0.5", "must be a finite number, 0 or more: '-0.5'"),
        ("-cds", "nan", "must be a finite number, 0 or more: 'nan'"),
        ("-cf", "-3", "must be 0 or more: '-3'"),
        ("-cf", "2.5", "not a whole number: '2.5'"),
        ("--timeout", "-1", "must be a finite number, 0 or more: '-1'"),
        ("--timeout", "inf", "must be a finite number, 0 or more: 'inf'"),
        ("--timeout", "soon", "not a number: 'soon'"),
    ],
)
def test_bad_cache_values_are_one_clear_line(
    opt: str, text: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as ei:
        main([opt, text, "http://h/", "mnt"])
    assert ei.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == f"partyfuse: error: argument {opt}: {why}"


def test_a_value_the_core_refuses_is_a_usage_error_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:

    def refuse(args: object) -> CacheConfig:
        raise ValueError("cache sizes and ttl must not be negative: -cdn -1 -cds 1.0 -cf 12")

    monkeypatch.setattr(cli_mount, "cache_config", refuse)
    with pytest.raises(SystemExit) as ei:
        main(["http://h/", "mnt"])
    assert ei.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith("partyfuse: error: cache sizes and ttl must not")


def test_console_script_and_module_agree() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "partyfuse", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.strip() == f"partyfuse {__version__}"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param(["ftp://h/"], "scheme", id="bad-url"),
        pytest.param(
            ["-a", "$/nonexistent/pw", "http://127.0.0.1:9/"],
            "password file",
            id="unreadable-password-file",
        ),
        pytest.param(["-te", "/nonexistent.pem", "https://127.0.0.1:9/"], "-te", id="missing-te"),
    ],
)
def test_a_bad_argument_is_one_error_line(
    args: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mnt = tmp_path / "m"
    mnt.mkdir()
    with pytest.raises(SystemExit) as ei:
        main([*args, str(mnt)])
    assert ei.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("partyfuse: error: ") and "\n" not in err and says in err


def test_st_asks_for_the_single_threaded_fuse_loop() -> None:
    assert build_parser().parse_args(["http://h/", "m"]).single_thread is False
    assert build_parser().parse_args(["http://h/", "m", "--st"]).single_thread is True


@pytest.mark.parametrize(
    "argv",
    [
        ["--ls", "http://h/", "-r"],
        ["--ls", "-r", "http://h/"],
        ["-r", "--ls", "http://h/"],
        ["http://h/", "--ls", "-r"],
        ["--ls=http://h/", "-r"],
    ],
)
def test_ls_takes_its_url_in_either_order(argv: list[str]) -> None:
    a = parse_cli(build_parser(), argv)
    assert (a.ls_url, a.recursive, a.base_url, a.local_path) == ("http://h/", True, None, None)


def test_ls_without_r(capsys: pytest.CaptureFixture[str]) -> None:
    a = parse_cli(build_parser(), ["--ls", "http://h/"])
    assert (a.ls_url, a.recursive) == ("http://h/", False)


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (["--ls"], "--ls needs a URL"),
        (["--ls", "-r"], "--ls needs a URL"),
        (["--ls", "-r", "http://h/", "mnt"], "--ls takes just a URL"),
        (["--ls", "http://h/", "http://i/"], "--ls takes just a URL"),
    ],
)
def test_ls_usage_errors(argv: list[str], why: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ei:
        main(argv)
    assert ei.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"partyfuse: error: {why}"


def test_timeout_is_kept_for_the_transport() -> None:
    a = build_parser().parse_args(["--timeout", "2.5", "http://h/", "m"])
    assert a.call_timeout == 2.5
    assert build_parser().parse_args(["--timeout", "0", "http://h/", "m"]).call_timeout == 0.0


def test_html_choices_are_the_listing_parsers_dialects() -> None:
    """One table: what --html accepts is what the listings package parses, plus auto."""
    ap = build_parser()
    for dialect in DIALECTS:
        assert ap.parse_args(["--html", dialect, "http://h/", "m"]).dialect == dialect
    (html,) = [a for a in ap._actions if "--html" in a.option_strings]
    assert tuple(html.choices or ()) == ("auto", *DIALECTS)
    help_text = ap.format_help()
    assert ", ".join(("auto", *DIALECTS)) in " ".join(help_text.split())


def test_every_option_says_what_it_holds() -> None:
    """No option's value is kept under its upstream abbreviation (args.cdn, args.te, ...)."""
    for action in build_parser()._actions:
        for flag in action.option_strings:
            if action.dest in ("help", "version"):
                continue
            assert action.dest != flag.lstrip("-") or len(action.dest) > 3, (flag, action.dest)


def test_readme_lists_the_same_dialects() -> None:
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (row,) = [line for line in readme.splitlines() if line.startswith("| `--html DIALECT` |")]
    assert re.findall(r"`(\w+)`", row.split("|")[2]) == ["auto", *DIALECTS]
