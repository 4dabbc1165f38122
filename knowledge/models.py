"""Pydantic models for the programme knowledge: every YAML file in knowledge/data is validated here."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

Topic = Literal[
    "about",  # what the programme / organisation is
    "eligibility",  # who can take part
    "cost",  # cost, funding, release payments
    "time",  # time commitment, duration, days
    "involved",  # what participants do
    "learn",  # what participants learn, outcomes
    "apply",  # how to apply, who to contact
    "dates",  # deadlines, start dates, which year
    "changes",  # what changed (2025 Specialist Programme)
    "evidence",  # results, impact, testimonials
    "myth",  # myths and answers from the leaflet
    "contact",  # Maths Hubs, NCETM, who to talk to
]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Source(Frozen):
    """One of the seed pages every fact comes from."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    seed_file: str = Field(pattern=r"^\d{3}_[0-9a-f]{16}\.txt$")
    title: str
    publisher: str
    url: HttpUrl | None = None
    published: str = Field(description="When the page was written, as precisely as the page says")


class DatedAnswer(Frozen):
    """An answer that changes when a date passes (e.g. an application deadline)."""

    date: dt.date
    answer_after: str = Field(min_length=1, description="Answer to give once `date` is in the past")


class Programme(Frozen):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    short_name: str
    aliases: tuple[str, ...] = Field(
        default=(), description="Other names users type; used to spot which programme a question is about"
    )
    summary: str
    url: HttpUrl
    sources: tuple[str, ...] = Field(min_length=1)


class FaqEntry(Frozen):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    programme: str | None = Field(description="Programme id, or null for general questions")
    topic: Topic
    question: str = Field(min_length=3)
    phrasings: tuple[str, ...] = Field(min_length=2)
    answer: str = Field(min_length=1)
    dated: DatedAnswer | None = None
    link: HttpUrl | None = Field(default=None, description="Defaults to the programme's url")
    sources: tuple[str, ...] = Field(min_length=1)

    @field_validator("phrasings")
    @classmethod
    def _no_blank_phrasings(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not p.strip() for p in value):
            raise ValueError("phrasings must not be blank")
        return value


class Texts(Frozen):
    """Every sentence the bot says that is not an FAQ answer. `{name}` fields are filled by the engine."""

    greeting: str
    you_are_welcome: str
    ask_prompt: str
    help: str
    fallback: str
    did_you_mean: str
    did_you_mean_one: str = Field(description="'Did you mean' when only one entry came close")
    none_of_these: str
    related: str = Field(description="Offered under an answer when another entry came close")
    rephrase: str
    feedback_prompt: str
    feedback_thanks_up: str
    feedback_thanks_down: str
    cancelled: str
    nothing_to_cancel: str
    restarted: str
    empty_message: str
    too_long: str
    not_text: str
    unknown_action: str
    state_reset: str
    source_label: str
    error: str
    hub_contact: str
    contact_hub: str
    resume_flow: str
    menu_ask: str
    menu_fit: str
    menu_contact: str
    pass_on_offer: str
    menu_help: str
    choice_none: str
    feedback_up_label: str
    feedback_down_label: str
    goodbye: str
    acknowledged: str = Field(description="The reply to a bare 'ok' or 'cool'")
    off_topic: str = Field(description="A question plainly about something else: no Maths Hub offer")
    no_answer_on_topic: str = Field(
        description="A follow-up asked the last topic about a programme the knowledge has nothing on "
        "that topic for; {topic} and {programme} are filled in, then {hub_contact}"
    )
    topic_names: dict[Topic, str] = Field(description="How the bot names each topic in a sentence")
    comparison_intro: str = Field(description="Before programmes side by side; {programmes} is filled in")
    comparison_missing: str = Field(description="In a comparison, for a programme with nothing on a topic")
    topic_headings: dict[Topic, str] = Field(description="A topic as a heading, in comparisons")


class Lexicon(Frozen):
    """Normalisation data for the FAQ matcher: abbreviations, spellings, topic cue words."""

    abbreviations: dict[str, str] = Field(
        description="Whole-word replacements, e.g. dwg -> development work group"
    )
    spellings: dict[str, str] = Field(description="US or misspelt word -> British form")
    phrases: dict[str, str] = Field(
        default_factory=dict,
        description="Multi-word expressions -> the wording the FAQ uses (applied after word replacements)",
    )
    stopwords: tuple[str, ...] = ()
    topic_cues: dict[Topic, tuple[str, ...]] = Field(
        description="Words or phrases that signal a question's topic (after normalisation)"
    )
    follow_up_cues: tuple[str, ...] = Field(
        default=(), description="Words that point back at the programme last discussed (it, this, that ...)"
    )
    carry_over_words: tuple[str, ...] = Field(
        default=(),
        description="Words that, around a programme's name and nothing else, ask the last question "
        "again about that programme ('what about the specialist one?', 'and for the embedding year?')",
    )
    clause_joins: tuple[str, ...] = Field(
        default=(), description="Words joining two questions in one message ('and', 'also')"
    )
    clause_openers: tuple[str, ...] = Field(
        default=(), description="Words that start a question ('can', 'is', 'how'): a join before one splits"
    )
    comparison_cues: tuple[str, ...] = Field(
        default=(), description="Words that, with two programmes named, ask to compare them"
    )
    comparison_aspects: dict[Topic, str] = Field(
        default_factory=dict,
        description="Topics a comparison covers, in order, each with a wording that picks a programme's "
        "entry on that topic",
    )
    greetings: tuple[str, ...] = ()
    thanks: tuple[str, ...] = ()
    goodbyes: tuple[str, ...] = Field(default=(), description="'bye', 'that's all', 'nothing else'")
    acknowledgements: tuple[str, ...] = Field(default=(), description="'ok', 'cool', 'lol', 'great'")
    small_talk_fillers: tuple[str, ...] = Field(
        default=(),
        description="Words that may come with small talk but are none on their own ('no', 'so', 'mate')",
    )
    off_topic_words: tuple[str, ...] = Field(
        default=(),
        description="Words of plainly other subjects (weather, football, PGCE, history): an unanswered "
        "question using one, and none of `in_domain_words`, is outside what the bot covers",
    )
    in_domain_words: tuple[str, ...] = Field(
        default=(), description="Words that keep a question in the bot's domain (maths, mastery, hub ...)"
    )
    intents: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="Phrases that start a flow or command, keyed by intent name"
    )
    intent_patterns: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Word patterns with gaps for the same intents (bot/intents.py), keyed by intent name",
    )

    answer_first_patterns: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description=(
            "Ways of asking for an intent that an FAQ answer on the topic of the same name may serve "
            '("how do I get in touch with my hub?"): answered when the matcher is sure, with the flow one '
            "tap away; otherwise they start the intent like intent_patterns"
        ),
    )

    @model_validator(mode="after")
    def _patterns_name_known_intents(self) -> Lexicon:
        for field, table in (
            ("intent_patterns", self.intent_patterns),
            ("answer_first_patterns", self.answer_first_patterns),
        ):
            unknown = sorted(set(table) - set(self.intents))
            if unknown:
                raise ValueError(f"{field}: unknown intent(s) {unknown}; known: {sorted(self.intents)}")
            for name, patterns in table.items():
                for pattern in patterns:
                    words = [w for w in pattern.split() if w != "…"]
                    if not words or any(not part for w in words for part in w.split("|")):
                        raise ValueError(f"{field}.{name}: {pattern!r} has an empty word or alternative")
        return self
