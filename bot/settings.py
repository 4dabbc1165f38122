"""Settings from environment variables (and an optional .env file), parsed by pydantic-settings."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict


def _check_webhook_url(url: str | None) -> str | None:
    """HTTPS only; plain HTTP is allowed to the loopback interface (local receivers and tests)."""
    if url is None:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    loopback = host == "localhost" or (host.replace(".", "").isdigit() and ip_address(host).is_loopback)
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError("webhook URLs must use https://")
    return url


class HubRoute(BaseModel):
    """Where one hub's enquiries are delivered (any of the three; all that are set are used)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    email: EmailStr | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = Field(default=None, description="Overrides ENQUIRY_WEBHOOK_SECRET")
    slack_channel: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_#-]{1,80}$")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, url: str | None) -> str | None:
        return _check_webhook_url(url)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///mastery.db",
        description="SQLAlchemy URL. SQLite file by default; postgresql+asyncpg://... for PostgreSQL.",
    )
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for a free connection")
    db_connect_timeout: float = Field(default=10.0, gt=0, description="Seconds to open a new connection")
    db_health_timeout: float = Field(default=2.0, gt=0, description="/healthz gives up on the database after")
    host: str = Field(default="0.0.0.0", validation_alias=AliasChoices("HOST", "BOT_HOST"))
    port: int = Field(default=3978, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|text)$")
    knowledge_dir: Path | None = None
    # Learning from use (bot/reload.py, bot/suggestions.py): the server re-reads the knowledge files
    # when they change (checked every N seconds; 0 turns watching off), on SIGHUP, and on
    # POST /admin/reload with "Authorization: Bearer ADMIN_TOKEN" (no token, no endpoint).
    knowledge_reload_seconds: float = Field(default=2.0, ge=0)
    admin_token: SecretStr | None = Field(default=None, min_length=16)
    suggestion_cluster_threshold: float = Field(
        default=80.0, ge=0, le=100, description="rapidfuzz token_set_ratio for one unanswered-question row"
    )
    max_message_chars: int = Field(default=4000, ge=100)
    # A light limit on the public web chat API (messages a minute; 0: none), per user id and per address.
    web_rate_limit_per_user: int = Field(default=30, ge=0)
    web_rate_limit_per_address: int = Field(default=300, ge=0)
    migrate_on_start: bool = True

    # Slack (enabled when both token and signing secret are set; Socket Mode when the app token is set)
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_slash_command: str = "/mastery"
    slack_event_lease_seconds: float = Field(
        default=60.0, gt=0, description="An event claimed by a process that died is answered after this"
    )
    slack_queue_max: int = Field(
        default=5000,
        ge=1,
        description="Acknowledged Slack events that may wait; beyond it Slack is told to retry",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Base URL of Slack's Web API; tests and benchmarks point it at a local mock server.",
    )

    # Microsoft Teams / Bot Framework
    microsoft_app_id: str | None = None
    microsoft_app_password: str | None = None
    microsoft_app_type: str = "MultiTenant"
    microsoft_app_tenant_id: str | None = None

    # "Which programme fits me?" (bot/interview.py): a returning user is offered "carry on or start
    # again?" after this idle time; an interview idle longer than the second limit is closed.
    interview_resume_after_minutes: float = Field(default=30.0, gt=0)
    interview_expire_after_hours: float = Field(default=24.0, gt=0)

    # Enquiries (bot/enquiry.py) and their delivery (bot/outbox.py). Hub routes: HUB_ROUTES as JSON,
    # e.g. {"sussex": {"email": "hub@example.org"}}, or HUB_ROUTES_FILE (YAML, same shape). Hubs
    # without a route, and enquiries whose hub is uncertain, use the ENQUIRY_DEFAULT_* route.
    enquiry_default_email: EmailStr | None = None
    enquiry_default_webhook_url: str | None = None
    enquiry_default_slack_channel: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_#-]{1,80}$")
    hub_routes: dict[str, HubRoute] = Field(default_factory=dict)
    hub_routes_file: Path | None = None
    enquiry_webhook_secret: SecretStr | None = Field(default=None, description="HMAC key for webhook bodies")
    webhook_timeout_seconds: float = Field(default=15.0, gt=0)
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = Field(default=False, description="Implicit TLS (port 465); STARTTLS is smtp_starttls")
    smtp_from: str = "Secondary Mastery assistant <no-reply@localhost>"
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    run_worker_in_web: bool = Field(default=True, description="Run the outbox worker inside `serve`")
    outbox_poll_seconds: float = Field(default=2.0, gt=0)
    outbox_batch_size: int = Field(default=10, ge=1, le=500)
    outbox_max_attempts: int = Field(default=12, ge=1, description="About 4 hours of retries by default")
    outbox_backoff_seconds: float = Field(default=30.0, gt=0, description="First retry delay; doubles")
    outbox_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    outbox_lease_seconds: float = Field(
        default=300.0, gt=0, description="A claimed job goes back to the queue after this (crashed worker)"
    )
    ticket_retention_days: int = Field(
        default=365, ge=0, description="Delivered tickets older than this are purged; 0 keeps them"
    )
    enquiry_draft_hours: float = Field(default=24.0, gt=0, description="Unfinished enquiries expire")
    transcript_retention_days: int = Field(
        default=30,
        ge=0,
        description="Web chat transcripts (for restoring a page) older than this go; 0 keeps",
    )
    learning_retention_days: int = Field(
        default=365, ge=0, description="Unanswered questions, feedback and picks older than this go; 0 keeps"
    )
    # With no ENQUIRY_DEFAULT_* route, enquiries are delivered as .eml files to this folder (the same
    # message the email channel sends): `python -m bot tickets inbox` lists and opens them.
    enquiry_mailbox_dir: Path = Path("enquiries")
    # Dead-lettered enquiries are logged at error level and counted; this address is also told.
    enquiry_alert_email: EmailStr | None = None

    @field_validator("enquiry_default_webhook_url")
    @classmethod
    def _default_webhook_url(cls, url: str | None) -> str | None:
        return _check_webhook_url(url)

    @model_validator(mode="after")
    def _enquiry_delivery(self) -> Settings:
        # A lease shorter than one delivery attempt would let a second worker send the same ticket.
        slowest = max(self.smtp_timeout_seconds, self.webhook_timeout_seconds)
        if self.outbox_lease_seconds <= slowest:
            raise ValueError(f"outbox_lease_seconds must be longer than the delivery timeouts ({slowest}s)")
        has_secret = self.enquiry_webhook_secret is not None
        unsigned = bool(self.enquiry_default_webhook_url) and not has_secret
        routes = self.hub_routes.values()
        unsigned |= any(r.webhook_url and not (r.webhook_secret or has_secret) for r in routes)
        if unsigned:
            raise ValueError("set ENQUIRY_WEBHOOK_SECRET: webhook deliveries are always signed")
        return self

    @model_validator(mode="after")
    def _resolve_local_paths(self) -> Settings:
        """Relative paths (the SQLite file, the local mailbox) are resolved once, when the settings are
        read, so every part of the process (and the log) names the same absolute file."""
        self.database_url = resolve_sqlite_path(self.database_url)
        self.enquiry_mailbox_dir = self.enquiry_mailbox_dir.expanduser().resolve()
        return self

    def all_hub_routes(self) -> dict[str, HubRoute]:
        """HUB_ROUTES plus HUB_ROUTES_FILE (the environment wins for a hub in both)."""
        routes: dict[str, HubRoute] = {}
        if self.hub_routes_file is not None:
            import yaml

            raw: Any = yaml.safe_load(self.hub_routes_file.read_text(encoding="utf-8")) or {}
            if not isinstance(raw, dict):
                raise ValueError(f"{self.hub_routes_file}: expected a mapping of hub id -> route")
            routes.update({str(k): HubRoute.model_validate(v) for k, v in raw.items()})
        routes.update(self.hub_routes)
        return routes


def resolve_sqlite_path(url: str) -> str:
    """`sqlite+aiosqlite:///mastery.db` -> the same URL naming the file by its absolute path."""
    for prefix in ("sqlite+aiosqlite:///", "sqlite:///"):
        if url.startswith(prefix):
            path, sep, query = url[len(prefix) :].partition("?")
            if not path or path == ":memory:" or path.startswith("file:"):
                return url
            return prefix + str(Path(path).expanduser().resolve()) + sep + query
    return url
