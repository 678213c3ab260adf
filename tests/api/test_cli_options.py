"""`mlsim` options: a bad one exits with status 2 and one line on stderr; `--version`."""

from __future__ import annotations

import pytest

from api.cli import build_parser, main
from api.request_body import DEFAULT_MAX_CONTENT_LENGTH


@pytest.mark.parametrize(
    "argv, message",
    [
        (["serve", "--port", "99999"], "mlsim serve: error: argument --port: must be between 0 and 65535, got [99999]"),
        (["serve", "--port", "http"], "mlsim serve: error: argument --port: [http] is not a port number"),
        (["serve", "--speed", "1e9"], "mlsim serve: error: argument --speed: must be at most 100000, got [1e9]"),
        (["serve", "--max-content-length", "0"],
         "mlsim serve: error: argument --max-content-length: must be between 1 byte and 2147483647 bytes, got [0]"),
        (["serve", "--max-content-length", "lots"], None),
        (["serve", "--clock", "virtual", "--speed", "2"], "mlsim serve: error: --speed only applies to --clock realtime"),
        (["serve", "--bogus"], "mlsim: error: unrecognized arguments: --bogus"),
        (["nope"], None),
    ],
)
def test_a_bad_option_is_one_line_and_status_2(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mlsim")
    if message is not None:
        assert err == message + "\n"


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("mlsim ") and out.count("\n") == 1


def test_max_content_length_is_a_byte_size_defaulting_to_100mb() -> None:
    parser = build_parser()
    assert parser.parse_args(["serve"]).max_content_length == DEFAULT_MAX_CONTENT_LENGTH
    assert parser.parse_args(["serve", "--max-content-length", "4mb"]).max_content_length == 4 * 1024 * 1024
