"""Delivering enquiry tickets to a Slack channel (an outbox delivery channel, wired in by bot/app.py)."""

from __future__ import annotations

import aiohttp

from bot.outbox import DeliveryChannel, DeliveryError, EnquiryMessage
from bot.settings import Settings


class SlackChannel:
    """chat.postMessage to a channel the bot is in (only when SLACK_BOT_TOKEN is set)."""

    _PERMANENT = frozenset(
        {"channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "no_text", "restricted_action"}
    )

    def __init__(self, token: str, api_url: str) -> None:
        from slack_sdk.web.async_client import AsyncWebClient

        self._client = AsyncWebClient(token=token, base_url=api_url)

    async def deliver(self, message: EnquiryMessage, target: str) -> None:
        from slack_sdk.errors import SlackApiError

        try:
            await self._client.chat_postMessage(
                channel=target,
                text=message.slack_text(),
                unfurl_links=False,
                unfurl_media=False,
                metadata={
                    "event_type": "enquiry_ticket",
                    "event_payload": {
                        "reference": message.ticket.reference,
                        "idempotency_key": message.ticket.idempotency_key,
                    },
                },
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown"))
            raise DeliveryError(f"Slack: {error}", permanent=error in self._PERMANENT) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryError(f"Slack unreachable: {type(exc).__name__}") from exc

    async def close(self) -> None:
        session = getattr(self._client, "session", None)
        if session is not None:
            await session.close()


def delivery_channels(settings: Settings) -> dict[str, DeliveryChannel]:
    """The Slack delivery channel when a bot token is configured, else nothing."""
    if not settings.slack_bot_token:
        return {}
    return {"slack": SlackChannel(settings.slack_bot_token, settings.slack_api_url)}
