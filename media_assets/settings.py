"""The product's settings: the one place that reads the environment.

Everything else receives a ``Settings`` (or a value taken from one). Processes media_assets starts
(the Dagster daemon, code servers, run workers, the local service) get their settings as
environment variables built by the CLI in one place (``media_assets.cli.child_env``), and read
them back through this module, so a value set on the command line reaches every process the same
way a value exported by the user does.

Everything lives under one work folder, ``MEDIA_ASSETS_HOME`` (default ``./.media_assets``), so a
library's state can be moved, inspected or deleted as a unit. ``load_settings()`` reads the
environment on every call, so long-lived processes and tests see changes to it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The code location every Dagster process media-assets starts loads (daemon, `dev`, closing),
# under the name workspace.yaml gives it.
CODE_LOCATION_MODULE = "media_assets.definitions"
CODE_LOCATION_NAME = "media_assets"
ENV_PREFIX = "MEDIA_ASSETS_"
API_KEY_ENV = "ITTYBIT_API_KEY"
BASE_URL_ENV = "ITTYBIT_BASE_URL"
DAGSTER_HOME_ENV = "DAGSTER_HOME"
HOSTED_BASE_URL = "https://api.ittybit.com"
LOCAL_BASE_URL = "http://127.0.0.1:8787"
DEFAULT_RUN_IN_FLIGHT = 16
# How long each stage may take, retries of transient errors included, before it is given up.
DEFAULT_DEADLINES: dict[str, float] = {
    "ingested": 3600.0,
    "thumbnail": 600.0,
    "audio": 1800.0,
    "transcoded": 3600.0,
}
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in ``text``: a number with an optional unit (``90``, ``90s``, ``15m``, ``2h``)."""
    raw = text.strip().lower()
    for unit in ("ms", "s", "m", "h"):
        if raw.endswith(unit):
            number, scale = raw[: -len(unit)], _DURATION_UNITS[unit]
            break
    else:
        number, scale = raw, 1.0
    try:
        seconds = float(number) * scale
    except ValueError:
        raise ValueError(f"expected a duration like 90s, 15m or 2h, got {text!r}") from None
    if not 0 < seconds < float("inf"):
        raise ValueError(f"a duration must be positive, got {text!r}")
    return seconds


def parse_deadlines(text: str) -> dict[str, float]:
    """``STAGE=DURATION`` pairs separated by commas; ``all=DURATION`` sets every stage."""
    deadlines: dict[str, float] = {}
    for pair in text.split(","):
        if not pair.strip():
            continue
        stage, sep, duration = pair.partition("=")
        stage = stage.strip().lower()
        if not sep:
            raise ValueError(f"expected STAGE=DURATION, got {pair.strip()!r}")
        if stage == "all":
            deadlines.update(dict.fromkeys(DEFAULT_DEADLINES, parse_duration(duration)))
        elif stage in DEFAULT_DEADLINES:
            deadlines[stage] = parse_duration(duration)
        else:
            known = ", ".join([*DEFAULT_DEADLINES, "all"])
            raise ValueError(f"unknown stage {stage!r} (expected one of {known})")
    return deadlines


class Settings(BaseSettings):
    """Every knob media_assets reads from the environment, typed and validated once.

    Fields map to ``MEDIA_ASSETS_<FIELD>`` unless an alias says otherwise (the Ittybit key and
    URL keep Ittybit's own names, ``DAGSTER_HOME`` Dagster's).
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, case_sensitive=False, extra="ignore", frozen=True
    )

    home: Path = Field(default=Path(".media_assets"), description="the work folder")
    dagster_home: Path | None = Field(
        default=None,
        validation_alias=AliasChoices(DAGSTER_HOME_ENV),
        description="Dagster's instance folder; default $MEDIA_ASSETS_HOME/dagster_home",
    )
    ittybit_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(API_KEY_ENV),
        description="the hosted API's key; unset = the local service",
    )
    ittybit_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices(BASE_URL_ENV), description="API base URL"
    )
    public_url_map: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="local folder -> public base URL ('dir=url;dir2=url2'), for the hosted API",
    )
    watch_dir: Path | None = Field(
        default=None, description="the folder the new_uploads sensor watches; default home/inbox"
    )
    output_dir: Path | None = Field(
        default=None, description="where the local service writes outputs; default home/outputs"
    )
    files_per_run: int = Field(default=25, ge=1, description="files per ranged run")
    # The daemon checks every added key with one query and logs it, and the whole tick must fit
    # in Dagster's 60 s sensor timeout: a couple of thousand keys per tick keeps well inside it.
    sensor_max_keys: int = Field(default=2000, ge=1, description="most files a sensor tick adds")
    sensor_running: bool = Field(
        default=False, description="start the new_uploads sensor switched on"
    )
    run_in_flight: int = Field(
        default=DEFAULT_RUN_IN_FLIGHT, ge=1, description="remote jobs one run keeps in flight"
    )
    max_in_flight: int | None = Field(
        default=None,
        ge=1,
        description="remote jobs in flight across every run: on this machine, or on every machine"
        " of the deployment with a database",
    )
    requests_per_second: float | None = Field(
        default=None,
        gt=0,
        description="API requests per second: per process, or across the deployment with a"
        " database",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql://user:password@host:port/db shared by every machine of a"
        " deployment; unset = everything in the SQLite home",
    )
    deadlines: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=dict,
        description="per-stage deadlines, 'stage=duration,...' (e.g. 'ingested=30m,all=2h')",
    )
    settle_seconds: float = Field(
        default=2.0, ge=0, description="how long a local file must stay unchanged to be taken"
    )
    settle_timeout_seconds: float = Field(
        default=60.0, ge=0, description="how long `run` waits for files still being written"
    )
    output_uri: str | None = Field(
        default=None,
        description="s3://bucket/prefix every output is delivered under (the job's output)",
    )
    adaptive_video: bool = Field(
        default=False,
        description="add the adaptive_video stage (an HLS ladder of each video) to this library",
    )

    @field_validator("output_uri", mode="before")
    @classmethod
    def _check_output_uri(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            return None
        text = value.strip().rstrip("/")
        scheme, sep, rest = text.partition("://")
        if scheme.lower() != "s3" or not sep or not rest.split("/", 1)[0]:
            raise ValueError(f"expected s3://bucket or s3://bucket/prefix, got {value!r}")
        return text

    @field_validator("public_url_map", mode="before")
    @classmethod
    def _parse_url_map(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        pairs: dict[str, str] = {}
        for pair in value.split(";"):
            if not pair.strip():
                continue
            folder, sep, base = pair.partition("=")
            if not sep or not folder.strip() or not base.strip():
                raise ValueError(
                    f"expected folder=public-base-url pairs separated by ';': {pair!r}"
                )
            pairs[folder.strip()] = base.strip()
        return pairs

    @field_validator("deadlines", mode="before")
    @classmethod
    def _parse_deadlines(cls, value: Any) -> Any:
        return parse_deadlines(value) if isinstance(value, str) else value

    @property
    def stage_deadlines(self) -> dict[str, float]:
        """Every stage's deadline in seconds: the defaults with the configured ones on top."""
        return {**DEFAULT_DEADLINES, **self.deadlines}

    @field_validator(
        "ittybit_api_key",
        "ittybit_base_url",
        "watch_dir",
        "output_dir",
        "dagster_home",
        "database_url",
        "requests_per_second",
        "max_in_flight",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url", mode="after")
    @classmethod
    def _postgres_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        return SecretStr(sqlalchemy_postgres_url(value.get_secret_value()))

    # -- derived places ---------------------------------------------------------------------

    @property
    def home_dir(self) -> Path:
        """The work folder, absolute; it is not created here."""
        return self.home.expanduser().resolve()

    @property
    def dagster_home_dir(self) -> Path:
        """Dagster's instance folder: always a persistent one (Dagster deletes a temporary home)."""
        chosen = self.dagster_home if self.dagster_home else self.home_dir / "dagster_home"
        return chosen.expanduser().resolve()

    @property
    def sources_db_path(self) -> Path:
        """The source registry: facts about every registered file, by partition key."""
        return self.home_dir / "sources.sqlite3"

    @property
    def manifest_path(self) -> Path:
        """The DuckDB manifest written by the ``batch_manifest`` asset."""
        return self.home_dir / "manifest.duckdb"

    @property
    def watch_path(self) -> Path:
        """The folder the ``new_uploads`` sensor watches."""
        if self.watch_dir is not None:
            return self.watch_dir.expanduser().resolve()
        return self.home_dir / "inbox"

    @property
    def output_path(self) -> Path:
        """Where the local service writes outputs, by stage and file: they stay after it stops."""
        if self.output_dir is not None:
            return self.output_dir.expanduser().resolve()
        return self.home_dir / "outputs"

    @property
    def slots_dir(self) -> Path:
        """Lock files of the machine-wide in-flight cap."""
        return self.home_dir / "slots"

    @property
    def local_service_dir(self) -> Path:
        """Jobs database and downloads of a local service media_assets starts."""
        return self.home_dir / "local-ittybit"

    @property
    def logs_dir(self) -> Path:
        return self.home_dir / "logs"

    @property
    def uses_database(self) -> bool:
        """Whether Dagster's storage, the registry and the caps live in a shared database."""
        return self.database_url is not None

    # -- the Ittybit service --------------------------------------------------------------------

    @property
    def uses_hosted_api(self) -> bool:
        return self.ittybit_api_key is not None

    @property
    def effective_base_url(self) -> str:
        """Where jobs go: the given URL, else Ittybit with a key, else the local service."""
        if self.ittybit_base_url:
            return self.ittybit_base_url.rstrip("/")
        return HOSTED_BASE_URL if self.uses_hosted_api else LOCAL_BASE_URL


# SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; dagster-postgres installs psycopg2.
POSTGRES_SCHEME = "postgresql+psycopg2"
_POSTGRES_SCHEMES = ("postgres", "postgresql", POSTGRES_SCHEME)


def sqlalchemy_postgres_url(url: str) -> str:
    """``url`` with the scheme SQLAlchemy needs for psycopg2; raises if it is not PostgreSQL.

    The message never repeats the URL: it may carry a password.
    """
    scheme, sep, rest = url.strip().partition("://")
    if not sep or scheme.lower() not in _POSTGRES_SCHEMES or not rest:
        raise ValueError("expected a postgresql://user:password@host:port/database URL")
    return f"{POSTGRES_SCHEME}://{rest}"


def libpq_url(url: str) -> str:
    """``url`` as libpq (psycopg2.connect) reads it: the plain postgresql:// scheme."""
    _, _, rest = sqlalchemy_postgres_url(url).partition("://")
    return f"postgresql://{rest}"


class SettingsError(ValueError):
    """A setting in the environment is malformed; the message names the variable."""


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    info = Settings.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"{ENV_PREFIX}{field.upper()}"


def settings_environment(settings: Settings) -> dict[str, str]:
    """The environment variables that make another process load ``settings``.

    Folders are absolute, so a child started in another working directory sees the same ones.
    """
    values: dict[str, Any] = {
        **settings.model_dump(exclude={"home", "dagster_home", "output_dir"}),
        "home": settings.home_dir,
        "dagster_home": settings.dagster_home_dir,
        "output_dir": settings.output_path,
    }
    env: dict[str, str] = {}
    for field, value in values.items():
        if value is None or value == {}:
            continue
        if isinstance(value, SecretStr):
            text = value.get_secret_value()
        elif isinstance(value, dict) and field == "deadlines":
            text = ",".join(f"{stage}={seconds!r}s" for stage, seconds in value.items())
        elif isinstance(value, dict):
            text = ";".join(f"{folder}={base}" for folder, base in value.items())
        elif isinstance(value, bool):
            text = "1" if value else "0"
        else:
            text = str(value)
        env[env_name(field)] = text
    return env


def work_identity(settings: Settings) -> tuple[str, str]:
    """A fingerprint of the settings that decide where work goes, and the same in words.

    Two processes with the same identity send the same jobs to the same place, so one may run
    the other's work (a daemon started by one command serving another).
    """
    key = settings.ittybit_api_key.get_secret_value() if settings.ittybit_api_key else ""
    parts = {
        "home": str(settings.home_dir),
        "base_url": settings.effective_base_url,
        "api_key": hashlib.sha256(key.encode()).hexdigest()[:16] if key else "",
        "public_url_map": settings.public_url_map,
        "output_uri": settings.output_uri,
        "output_dir": str(settings.output_path),
        "adaptive_video": settings.adaptive_video,
    }
    fingerprint = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
    summary = f"{env_name('ittybit_base_url')}={settings.effective_base_url}" + (
        ", with an Ittybit key" if key else ""
    )
    return fingerprint, summary


def child_environment(
    settings: Settings, *, inherit: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The whole environment for a child process: the current one with ``settings`` applied.

    Variables of the settings' own names that ``settings`` leaves unset are removed, so a child
    never sees a stale value the parent replaced.
    """
    base = dict(os.environ if inherit is None else inherit)
    for field in Settings.model_fields:
        base.pop(env_name(field), None)
    return {**base, **settings_environment(settings)}


_SECRET_FIELDS = frozenset({"ittybit_api_key", "database_url"})


def load_settings() -> Settings:
    """The settings as the environment says now; a malformed value raises ``SettingsError``."""
    try:
        return Settings()
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            field = str(problem["loc"][0]) if problem["loc"] else ""
            name = env_name(field) if field in Settings.model_fields else field
            secret = field in _SECRET_FIELDS
            shown = "" if secret else f" (got {problem.get('input')!r})"
            problems.append(f"{name}: {problem['msg']}{shown}")
        raise SettingsError("; ".join(problems)) from None
