"""Settings from environment variables (and an optional .env file), parsed by pydantic-settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///mastery.db",
        description="SQLAlchemy URL. SQLite file by default; postgresql+asyncpg://... for PostgreSQL.",
    )
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout: float = Field(default=30.0, gt=0)
    host: str = Field(default="0.0.0.0", validation_alias=AliasChoices("HOST", "BOT_HOST"))
    port: int = Field(default=3978, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|text)$")
    knowledge_dir: Path | None = None
    max_message_chars: int = Field(default=4000, ge=100)
    migrate_on_start: bool = True

    # Slack (enabled when both token and signing secret are set; Socket Mode when the app token is set)
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_slash_command: str = "/mastery"

    # Microsoft Teams / Bot Framework
    microsoft_app_id: str | None = None
    microsoft_app_password: str | None = None
    microsoft_app_type: str = "MultiTenant"
    microsoft_app_tenant_id: str | None = None
