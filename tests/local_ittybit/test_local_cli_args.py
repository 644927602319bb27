"""The service's command-line flags."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from media_assets.local_ittybit import ServiceConfig, add_arguments, config_from_args
from media_assets.local_ittybit.cli import config_to_argv


def _parse(argv: list[str], *, default_data_dir: Path | None = None) -> ServiceConfig:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return config_from_args(parser.parse_args(argv), default_data_dir=default_data_dir)


def test_flags_round_trip_through_config_to_argv(tmp_path: Path) -> None:
    """Every setting survives config -> argv -> config, as a child process would receive it."""
    config = ServiceConfig(
        port=0,
        data_dir=tmp_path.resolve(),
        output_dir=(tmp_path / "outputs").resolve(),
        engine="simulate",
        workers=4,
        api_key="k",
        allow_roots=(tmp_path.resolve(),),
        public_url="http://media.local:9000",
        max_wait=3.5,
        latency=(0.25, 1.5),
        fail_rate=0.1,
        fail_match="bad",
        error_rate=0.2,
        rate_limit=50.0,
        hang_rate=0.05,
        seed=3,
    )
    key_file = tmp_path / "key"
    key_file.write_text("k\n")
    argv = config_to_argv(config, api_key_file=key_file)
    assert _parse(argv) == config
    assert "k" not in argv, "the key must not be on the command line"


def test_the_hosted_profile_round_trips(tmp_path: Path) -> None:
    """``--compat hosted`` survives config -> argv -> config."""
    config = ServiceConfig(port=0, data_dir=tmp_path.resolve(), compat="hosted", api_key="k")
    key_file = tmp_path / "key"
    key_file.write_text("k\n")
    argv = config_to_argv(config, api_key_file=key_file)
    assert argv[argv.index("--compat") + 1] == "hosted"
    assert _parse(argv) == config


def test_compat_hosted_without_a_key_is_a_usage_error(tmp_path: Path) -> None:
    """``--compat hosted`` with no key is refused: the hosted API always needs one."""
    with pytest.raises(ValueError, match="API key"):
        _parse(["--data-dir", str(tmp_path), "--compat", "hosted"])


def test_a_key_is_never_put_on_the_command_line(tmp_path: Path) -> None:
    """config_to_argv refuses to pass a key except through a file."""
    config = ServiceConfig(data_dir=tmp_path, api_key="secret")
    with pytest.raises(ValueError, match="api_key_file"):
        config_to_argv(config)


def test_key_file_must_hold_a_key(tmp_path: Path) -> None:
    """An empty key file is a configuration error naming the file."""
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ValueError, match=str(empty)):
        _parse(["--api-key-file", str(empty)])


def test_defaults_bind_loopback_with_the_ffmpeg_engine(tmp_path: Path) -> None:
    """Without flags the service binds 127.0.0.1:8787 with the ffmpeg engine."""
    config = _parse(["--data-dir", str(tmp_path)])
    assert (config.host, config.port, config.engine) == ("127.0.0.1", 8787, "ffmpeg")
    assert config.base_url == "http://127.0.0.1:8787"


def test_without_data_dir_the_data_lives_under_the_working_directory(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default data dir is ./.media_assets/local-ittybit, whatever the product's env says."""
    monkeypatch.chdir(tmp_path)
    config = _parse([])
    assert config.data_dir == tmp_path.resolve() / ".media_assets" / "local-ittybit"


def test_the_caller_supplies_the_default_data_dir(tmp_path: Path) -> None:
    """Without --data-dir, the caller's ``default_data_dir`` is used (absolute)."""
    config = _parse([], default_data_dir=tmp_path / "home" / "local-ittybit")
    assert config.data_dir == tmp_path.resolve() / "home" / "local-ittybit"


def test_the_data_dir_flag_wins_over_the_callers_default(tmp_path: Path) -> None:
    """--data-dir beats the default the caller passed."""
    config = _parse(["--data-dir", str(tmp_path / "flag")], default_data_dir=tmp_path / "default")
    assert config.data_dir == tmp_path.resolve() / "flag"


def test_outputs_go_under_the_data_dir_unless_a_folder_is_given(tmp_path: Path) -> None:
    """Outputs default to DATA_DIR/files; --output-dir, or the caller's default, moves them."""
    assert _parse(["--data-dir", str(tmp_path)]).files_dir == tmp_path.resolve() / "files"
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    chosen = config_from_args(
        parser.parse_args(["--data-dir", str(tmp_path)]), default_output_dir=tmp_path / "kept"
    )
    assert chosen.files_dir == tmp_path.resolve() / "kept"
    flagged = _parse(["--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "flag")])
    assert flagged.files_dir == tmp_path.resolve() / "flag"


@pytest.mark.parametrize(
    "argv", [["--latency", "2:1"], ["--fail-rate", "1.5"], ["--max-wait", "-1"]]
)
def test_bad_flag_values_are_usage_errors(argv: list[str]) -> None:
    """Out-of-range simulate flags stop argument parsing with a usage error."""
    with pytest.raises(SystemExit) as exit_info:
        _parse(argv)
    assert exit_info.value.code == 2
