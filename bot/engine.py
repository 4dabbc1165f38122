"""The conversation engine: `handle(inbound) -> replies`, the same for every front end.

Order of decisions for each message: bad input → interruptions (help, cancel, restart) → the active
flow's step → flow entry intents → small talk (greetings, thanks, goodbyes, "ok") → FAQ (a comparison
of programmes side by side, or each part of a two-part question, or one answer; follow-ups read
against the last answer's programme and topic) → honest fallback ("outside what I cover" for plainly
other subjects, else "ask your Maths Hub").
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, cast, runtime_checkable

from bot.clock import local_date
from bot.compose import Composer
from bot.faq import Candidate, DialogueContext, FaqMatcher, MatcherConfig, MatchResult, answer_text
from bot.flows import ActsAfterwards, Flow, FlowContext, FlowResult, Restarts
from bot.intents import IntentPatterns
from bot.messages import Choice, Inbound, Link, Reply
from bot.normalise import clean_user_text, expands_beyond
from bot.privacy import mask_personal
from bot.smalltalk import SmallTalkReader
from bot.state import ConversationState, SavedChoice, parse_state
from bot.store.base import ConversationSlot, FeedbackRecord, PickRecord, Store, UnansweredRecord
from knowledge.loader import Knowledge
from knowledge.models import FaqEntry, Topic

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4000
# A typed request to be put in touch that is longer than this many words is its own question.
CONTACT_REQUEST_WORDS = 8


class Observer(Protocol):
    def observe(self, platform: str, outcome: str, seconds: float) -> None: ...


@runtime_checkable
class AnswersOutright(Protocol):
    """A flow that can answer some messages whatever else is going on (e.g. "status of LLME-2026-000123?")."""

    async def answer(self, ctx: FlowContext) -> list[Reply] | None: ...


@dataclass
class _Turn:
    inbound: Inbound
    state: ConversationState
    slot: ConversationSlot
    now: dt.datetime  # the message's moment, from the store's clock (slot.now)
    today: dt.date  # the date in England at that moment: dated answers and deadlines
    text: str = ""
    action: str | None = None
    normalised: str = ""
    outcome: str = "message"
    replies: list[Reply] = field(default_factory=list)


class Engine:
    def __init__(
        self,
        knowledge: Knowledge,
        store: Store,
        *,
        flows: Iterable[Flow] = (),
        observer: Observer | None = None,
        max_chars: int = MAX_MESSAGE_CHARS,
        matcher_config: MatcherConfig | None = None,
    ) -> None:
        self.store = store
        self._matcher_config = matcher_config
        self._observer = observer
        self.max_chars = max_chars
        self._flows: dict[str, Flow] = {}
        self._flow_for_intent: dict[str, Flow] = {}
        for flow in flows:
            self._flows[flow.name] = flow
            for intent in flow.intents:
                self._flow_for_intent[intent] = flow
        self.reload(knowledge)

    def reload(self, knowledge: Knowledge) -> None:
        """Swap in new knowledge (already validated). Conversations carry on with the new answers."""
        matcher = FaqMatcher(knowledge, self._matcher_config)
        norm = matcher.normaliser.normalise
        intents = {
            name: frozenset(norm(p) for p in phrases) for name, phrases in knowledge.lexicon.intents.items()
        }
        small_talk = SmallTalkReader(knowledge.lexicon)
        patterns = (
            IntentPatterns(knowledge.lexicon.intent_patterns),
            IntentPatterns(knowledge.lexicon.answer_first_patterns),
        )
        composer = Composer(knowledge.lexicon)
        for programme_id in knowledge.programmes:  # comparisons read these: found now, not mid-message
            for topic, wording in composer.aspects.items():
                matcher.on_topic(programme_id, topic, wording)
        # One assignment of a tuple, so a message in flight never sees half-old, half-new knowledge.
        self._live = (knowledge, matcher, intents, small_talk, patterns, composer)

    @property
    def knowledge(self) -> Knowledge:
        return self._live[0]

    @property
    def matcher(self) -> FaqMatcher:
        return self._live[1]

    # -- entry point ---------------------------------------------------------------------------
    async def handle(self, inbound: Inbound) -> list[Reply]:
        started = time.perf_counter()
        outcome = "error"
        try:
            rejected = self._reject(inbound)
            if rejected is not None:
                outcome = "invalid"
                return [rejected]
            async with self.store.conversation(inbound.key) as slot:
                turn = await self._run(inbound, slot)
                outcome = turn.outcome
                return turn.replies
        except Exception:
            log.exception("message_failed", extra={"platform": inbound.key.platform})
            return [Reply(self.knowledge.texts.error, kind="error")]
        finally:
            seconds = time.perf_counter() - started
            log.info(
                "message_handled",
                extra={"platform": inbound.key.platform, "outcome": outcome, "ms": round(seconds * 1000, 2)},
            )
            if self._observer is not None:
                self._observer.observe(inbound.key.platform, outcome, seconds)

    def _reject(self, inbound: Inbound) -> Reply | None:
        texts = self.knowledge.texts
        if inbound.action:
            return None
        if inbound.text is None:
            return Reply(texts.not_text, kind="error")
        # The limit holds after normalisation too: a few characters can expand a hundredfold
        # (U+FDFA is 18 letters in NFKC), and the matcher reads the expanded text.
        if len(inbound.text) > self.max_chars or expands_beyond(inbound.text, self.max_chars):
            return Reply(texts.too_long.format(limit=f"{self.max_chars:,}"), kind="error")
        text = clean_user_text(inbound.text)
        if not text:
            return Reply(texts.empty_message, kind="error")
        if not any(ch.isalnum() for ch in text):
            return Reply(texts.not_text, kind="error")
        return None

    async def _run(self, inbound: Inbound, slot: ConversationSlot) -> _Turn:
        state, was_reset = parse_state(slot.state)
        turn = _Turn(inbound=inbound, state=state, slot=slot, now=slot.now, today=local_date(slot.now))
        if was_reset:
            turn.replies.append(Reply(self.knowledge.texts.state_reset))
        turn.text = clean_user_text(inbound.text or "")
        turn.normalised = self.matcher.normaliser.normalise(turn.text)
        turn.action = inbound.action or self._typed_choice(turn)
        await self._decide(turn)
        state = turn.state  # a restart replaces it
        last_choices = next((r.choices for r in reversed(turn.replies) if r.choices), ())
        state.choices = [SavedChoice.of(c) for c in last_choices]
        state.updated_at = turn.now
        slot.save(state.model_dump(mode="json"))
        return turn

    def _typed_choice(self, turn: _Turn) -> str | None:
        """A typed '2' or a typed button label picks that button from the last reply."""
        choices = turn.state.choices
        if not choices or not turn.text:
            return None
        if turn.text.isdigit() and 1 <= int(turn.text) <= len(choices):
            return choices[int(turn.text) - 1].value
        norm = self.matcher.normaliser.normalise
        for choice in choices:
            if norm(choice.label) == turn.normalised:
                return choice.value
        return None

    # -- decisions -----------------------------------------------------------------------------
    async def _decide(self, turn: _Turn) -> None:
        _, _, intents, small_talk, patterns, _ = self._live
        texts = self.knowledge.texts
        intent = next((name for name, phrases in intents.items() if turn.normalised in phrases), None)
        if turn.action is not None:
            menu = turn.action.removeprefix("menu:") if turn.action.startswith("menu:") else None
            if menu in ("help", "cancel", "restart"):
                intent = menu

        if intent == "help":
            turn.replies.append(self._help())
            if turn.state.flow is not None:
                turn.replies.extend(self._reprompt(turn))
            return
        if intent == "cancel":
            turn.state.pending_question = None
            if turn.state.flow is None:
                turn.replies.append(Reply(texts.nothing_to_cancel, choices=self._menu()))
            else:
                log.info("flow_cancelled", extra={"flow": turn.state.flow.name})
                turn.state.flow = None
                turn.replies.append(Reply(texts.cancelled, choices=self._menu()))
            return
        if intent == "restart":
            active = self._flows.get(turn.state.flow.name) if turn.state.flow is not None else None
            if isinstance(active, Restarts) and turn.state.flow is not None:  # restart that flow only
                self._apply(turn, await active.restart(self._context(turn), turn.state.flow), active.name)
                return
            turn.state = ConversationState()
            turn.replies.append(Reply(texts.restarted))
            turn.replies.append(Reply(texts.greeting, choices=self._menu()))
            return

        if turn.action is None and await self._answer_outright(turn):
            return

        flow_input = turn.action is None or turn.action.startswith("flow:")
        if turn.state.flow is not None and flow_input and await self._flow_step(turn):
            return

        if turn.action is not None:
            await self._act(turn)
            return

        if intent is None:
            intent = patterns[0].intent_of(turn.normalised)
        if intent is None:
            intent = patterns[1].intent_of(turn.normalised)
            if intent is not None:
                # "How do I get in touch?": the FAQ's answer on that topic when it is sure (it offers
                # the enquiry one tap away); otherwise the intent starts.
                result = self._match(turn)
                best = result.best if result.outcome == "answer" else None
                if best is not None and best.entry.topic == intent:
                    self._answer_question(turn, result)
                    return
        if intent == "contact":
            await self._start_intent(turn, intent, self._contact_seed(turn))
            return
        if intent == "fit":
            await self._start_intent(turn, intent)
            return
        if intent == "rephrase":  # "that's not what I asked": the last question went unanswered
            if turn.state.last_question:
                self._log_unanswered(turn, turn.state.last_question)
            turn.outcome = "rephrase"
            turn.replies.append(Reply(texts.rephrase, choices=(Choice(texts.menu_contact, "menu:contact"),)))
            return
        chat = small_talk.small_talk(turn.text)
        if chat is not None:
            turn.outcome = f"small_talk:{chat}"
            if chat == "greeting":
                turn.replies.append(Reply(texts.greeting, choices=self._menu()))
            else:
                reply = {"thanks": texts.you_are_welcome, "goodbye": texts.goodbye}
                turn.replies.append(Reply(reply.get(chat, texts.acknowledged)))
            return
        self._answer_question(turn)

    def _contact_seed(self, turn: _Turn) -> dict[str, str]:
        """What a typed "put me in touch" carries into the enquiry: a programme it names, and the
        question: the message itself when it says more than the request ("I'd like to discuss the
        Specialist Programme with your team"), else the question asked just before."""
        seed: dict[str, str] = {}
        named = sorted(self.matcher.programmes_in(turn.normalised))
        if len(named) == 1:
            seed["programme"] = named[0]
        if named or len(turn.normalised.split()) > CONTACT_REQUEST_WORDS:
            seed["question"] = turn.text
        elif turn.state.last_question:
            seed["question"] = turn.state.last_question
        return seed

    def _context(self, turn: _Turn) -> FlowContext:
        return FlowContext(
            knowledge=self.knowledge,
            today=turn.today,
            now=turn.now,
            inbound=turn.inbound,
            action=turn.action,
            conversation=turn.state,
            slot=turn.slot,
            normalise=self.matcher.normaliser.normalise,
        )

    async def _answer_outright(self, turn: _Turn) -> bool:
        """Before the active step: flows may answer a message outright (then the active flow resumes)."""
        for flow in self._flows.values():
            if not isinstance(flow, AnswersOutright):
                continue
            replies = await flow.answer(self._context(turn))
            if replies:
                turn.outcome = f"{flow.name}:answer"
                turn.replies.extend(replies)
                turn.replies.extend(self._reprompt(turn))
                return True
        return False

    async def _flow_step(self, turn: _Turn) -> bool:
        """Give the message to the active flow. False when the flow left it for the FAQ."""
        assert turn.state.flow is not None
        flow = self._flows.get(turn.state.flow.name)
        if flow is None:  # a flow that no longer exists: drop it politely
            turn.state.flow = None
            return False
        ctx = self._context(turn)
        result = await flow.step(ctx, turn.state.flow)
        if not result.consumed:
            self._answer_question(turn)
            turn.replies.append(Reply(self.knowledge.texts.resume_flow))
            turn.replies.extend(flow.reprompt(ctx, turn.state.flow))
            turn.outcome = f"{flow.name}:interrupted"
            return True
        self._apply(turn, result, flow.name)
        return True

    def _apply(self, turn: _Turn, result: FlowResult, name: str) -> None:
        turn.state.flow = result.flow
        turn.replies.extend(result.replies)
        turn.outcome = f"{name}:{result.flow.step if result.flow else 'done'}"

    def _reprompt(self, turn: _Turn) -> list[Reply]:
        flow_state = turn.state.flow
        flow = self._flows.get(flow_state.name) if flow_state else None
        if flow is None or flow_state is None:
            return []
        return [Reply(self.knowledge.texts.resume_flow), *flow.reprompt(self._context(turn), flow_state)]

    async def _start_intent(self, turn: _Turn, intent: str, seed: dict[str, str] | None = None) -> None:
        flow = self._flow_for_intent.get(intent)
        if flow is not None:
            result = await flow.start(self._context(turn), dict(seed or {}))
            self._apply(turn, result, flow.name)
            return
        texts = self.knowledge.texts
        if intent == "contact":
            turn.outcome = "contact"
            turn.replies.append(Reply(texts.contact_hub.format(hub_contact=texts.hub_contact)))
            return
        self._answer_question(turn)

    async def _act(self, turn: _Turn) -> None:
        action = turn.action or ""
        kind, _, rest = action.partition(":")
        texts = self.knowledge.texts
        if kind == "faq" and rest == "none":
            if turn.state.pending_question:
                self._log_unanswered(turn, turn.state.pending_question)
            turn.state.pending_question = None
            turn.outcome = "rephrase"
            turn.replies.append(Reply(texts.rephrase))
            return
        if kind == "faq" and rest in self.knowledge.faq_by_id:
            pending = turn.state.pending_question
            if pending and any(c.value == action for c in turn.state.choices):
                self._log_pick(turn, pending, rest)  # picked from the "did you mean" just offered
            turn.state.pending_question = None
            self._reply_with_answer(turn, self.knowledge.faq_by_id[rest])
            return
        if kind == "feedback":
            verdict, _, faq_id = rest.partition(":")
            if verdict in ("up", "down") and faq_id in self.knowledge.faq_by_id:
                helpful = verdict == "up"
                question = turn.state.last_question if turn.state.last_faq == faq_id else None
                turn.slot.record(
                    FeedbackRecord(faq_id, helpful, mask_personal(question) if question else None)
                )
                turn.outcome = f"feedback:{verdict}"
                thanks = texts.feedback_thanks_up if helpful else texts.feedback_thanks_down
                turn.replies.append(Reply(thanks.format(hub_contact=texts.hub_contact)))
                return
        if kind == "menu":
            if rest == "ask":
                turn.replies.append(Reply(texts.ask_prompt))
                return
            if rest in ("fit", "contact"):
                last = self.knowledge.faq_by_id.get(turn.state.last_faq or "")
                about_contacting = last is not None and last.topic == "contact"
                seed = (
                    {"question": turn.state.last_question}
                    if rest == "contact" and turn.state.last_question and not about_contacting
                    else {}
                )
                await self._start_intent(turn, rest, seed)
                return
        owner = self._flows.get(rest.partition(":")[0]) if kind == "flow" else None
        if isinstance(owner, ActsAfterwards):
            replies = await owner.act(self._context(turn))
            if replies:
                turn.outcome = f"{owner.name}:after"
                turn.replies.extend(replies)
                return
        turn.outcome = "unknown_action"
        turn.replies.append(Reply(texts.unknown_action, choices=self._menu()))

    # -- FAQ -----------------------------------------------------------------------------------
    def _dialogue_context(self, turn: _Turn) -> DialogueContext:
        state = turn.state
        return DialogueContext(
            programme=state.last_programme,
            topic=state.last_topic,
            entry=self.knowledge.faq_by_id.get(state.last_faq or ""),
        )

    def _match(self, turn: _Turn) -> MatchResult:
        return self.matcher.match(turn.text, context=self._dialogue_context(turn))

    def _answer_question(self, turn: _Turn, result: MatchResult | None = None) -> None:
        """Answer from the FAQ; `result` when the message has been matched already."""
        result = result or self._match(turn)
        turn.state.last_question = turn.text
        if self._compare(turn, result) or self._answer_parts(turn, result):
            return
        if result.outcome == "answer" and result.best is not None:
            self._reply_with_answer(turn, result.best.entry, result)
            self._offer_related(turn, result)
        elif result.outcome == "ambiguous":
            self._disambiguate(turn, result)
        elif result.carried_topic is not None and len(result.programmes) == 1:
            self._nothing_on_topic(turn, next(iter(result.programmes)), result.carried_topic)
        elif self._live[3].off_topic(turn.text) and not self.matcher.programmes_in(turn.normalised):
            self._off_topic(turn)
        else:
            self._fallback(turn)

    def _compare(self, turn: _Turn, whole: MatchResult) -> bool:
        """Two or more programmes and a comparison word: their entries on each aspect side by side
        (the aspects the message names, else all), after the answer to the message as a whole when
        there is one (such as a general entry written about that very comparison)."""
        composer = self._live[5]
        last = turn.state.last_programme
        named = whole.programmes
        # The cheap test first, as most messages name one programme or none; "it" can be the second.
        if len(named) < 2 and (len(named) != 1 or last is None or last in named):
            return False
        normalised = self.matcher.analyse(turn.text)[0]
        programmes = self.matcher.programmes_in_order(normalised)
        if len(programmes) == 1 and last is not None and self.matcher.refers_back(normalised):
            programmes = [last, *programmes]  # "how is it different from the specialist programme?"
        if len(programmes) < 2 or not composer.is_comparison(turn.text):
            return False
        knowledge, texts = self.knowledge, self.knowledge.texts
        asked = self.matcher.topics_in(normalised) & composer.aspects.keys()
        aspects = [t for t in composer.aspects if not asked or t in asked]
        sides: list[Reply] = []
        for topic in aspects:
            parts, links, ids = [], [], []
            for programme_id in programmes:
                name = knowledge.programmes[programme_id].short_name
                ranked = self.matcher.on_topic(programme_id, topic, composer.aspects[topic])
                if not ranked:
                    parts.append(f"{name}: {texts.comparison_missing}")
                    continue
                entry = ranked[0].entry
                ids.append(entry.id)
                parts.append(f"{name}: {answer_text(entry, turn.today)}")
                link = self._source_link(entry)
                if link is not None and link not in links:
                    links.append(link)
            if ids:
                heading = texts.topic_headings.get(topic, topic)
                sides.append(
                    Reply(
                        "\n\n".join([heading, *parts]),
                        links=tuple(links),
                        kind="answer",
                        data={"topic": topic, "faq_ids": " ".join(ids)},
                    )
                )
        if not sides:
            return False
        if whole.outcome == "answer" and whole.best is not None and self._about(whole.best.entry, programmes):
            self._reply_with_answer(turn, whole.best.entry, whole)
        names = " and ".join(knowledge.programmes[p].short_name for p in programmes)
        turn.replies.append(Reply(texts.comparison_intro.format(programmes=names)))
        turn.replies.extend(sides)
        turn.outcome = "comparison"
        turn.state.last_topic = aspects[0] if len(aspects) == 1 else None
        return True

    def _about(self, entry: FaqEntry, programmes: Sequence[str]) -> bool:
        """Whether an entry speaks to a comparison of `programmes`: it is about one of them, or, a
        general entry, its question names them all (a Work Group vs Specialist entry says nothing
        about Embedding Year Support)."""
        if entry.programme is not None:
            return entry.programme in programmes
        named = self.matcher.programmes_in(self.matcher.analyse(entry.question)[0])
        return set(programmes) <= named

    def _answer_parts(self, turn: _Turn, whole: MatchResult) -> bool:
        """A message asking two or three things ("is the dwg free and can an ECT join it?"): each
        part answered with its own source, when every part has a clear answer of its own. A part
        that names no programme is read in the light of the part before ("it")."""
        clauses = self._live[5].clauses(turn.text)
        if len(clauses) < 2:
            return False
        context = self._dialogue_context(turn)
        entries: list[tuple[FaqEntry, MatchResult]] = []
        for clause in clauses:
            part = self.matcher.match(clause, context=context)
            if part.outcome != "answer" or part.best is None:
                return False
            entry = part.best.entry
            if any(entry.id == seen.id for seen, _ in entries):
                return False
            entries.append((entry, part))
            context = DialogueContext(
                programme=entry.programme or context.programme, topic=entry.topic, entry=entry
            )
        for entry, part in entries:
            self._reply_with_answer(turn, entry, part)
        turn.outcome = "answer:parts"
        return True

    def _source_link(self, entry: FaqEntry) -> Link | None:
        source = self.knowledge.sources[entry.sources[0]]
        url = self.knowledge.link_for(entry)
        label = f"{self.knowledge.texts.source_label}: {source.publisher} – {source.title}"
        return Link(label, url) if url else None

    def _reply_with_answer(self, turn: _Turn, entry: FaqEntry, result: MatchResult | None = None) -> None:
        texts = self.knowledge.texts
        link = self._source_link(entry)
        links = (link,) if link is not None else ()
        turn.state.last_faq = entry.id
        turn.state.last_topic = entry.topic
        if entry.programme is not None:
            turn.state.last_programme = entry.programme
        turn.outcome = "answer"
        data = {"faq_id": entry.id}
        if result is not None and result.best is not None:
            data["score"] = f"{result.best.score:.1f}"
        turn.replies.append(
            Reply(
                answer_text(entry, turn.today),
                choices=(
                    Choice(texts.feedback_up_label, f"feedback:up:{entry.id}"),
                    Choice(texts.feedback_down_label, f"feedback:down:{entry.id}"),
                ),
                links=links,
                kind="answer",
                faq_id=entry.id,
                feedback=True,
                data=data,
            )
        )
        if entry.topic == "contact":  # an answer about contacting a hub: the enquiry is one tap away
            turn.replies.append(
                Reply(texts.pass_on_offer, choices=(Choice(texts.menu_contact, "menu:contact"),))
            )

    def _offer_related(self, turn: _Turn, result: MatchResult) -> None:
        """Entries that came close to the answer, one tap away; a tap counts as a pick."""
        if not result.runners_up:
            return
        turn.state.pending_question = turn.text
        choices = _entry_choices(result.runners_up)
        turn.replies.append(Reply(self.knowledge.texts.related, choices=choices, kind="related"))

    def _disambiguate(self, turn: _Turn, result: MatchResult) -> None:
        texts = self.knowledge.texts
        turn.state.pending_question = turn.text
        turn.outcome = "ambiguous"
        choices = (*_entry_choices(result.candidates), Choice(texts.none_of_these, "faq:none"))
        prompt = texts.did_you_mean if len(result.candidates) > 1 else texts.did_you_mean_one
        turn.replies.append(Reply(prompt, choices=choices, kind="disambiguation"))

    def _fallback(self, turn: _Turn) -> None:
        texts = self.knowledge.texts
        self._log_unanswered(turn, turn.text)
        turn.outcome = "unknown"
        choices = [Choice(texts.menu_contact, "menu:contact"), Choice(texts.menu_help, "menu:help")]
        turn.replies.append(
            Reply(
                texts.fallback.format(hub_contact=texts.hub_contact), choices=tuple(choices), kind="fallback"
            )
        )

    def _off_topic(self, turn: _Turn) -> None:
        """Plainly about something else (the weather, a PGCE): say so, with no Maths Hub to ask."""
        self._log_unanswered(turn, turn.text)  # still logged: authors see it if the word list misfires
        turn.outcome = "off_topic"
        texts = self.knowledge.texts
        turn.replies.append(
            Reply(texts.off_topic, choices=(Choice(texts.menu_help, "menu:help"),), kind="fallback")
        )

    def _nothing_on_topic(self, turn: _Turn, programme_id: str, topic: str) -> None:
        """ "And the PD Lead?" after a question about time, when nothing says how long PD Lead takes:
        say so for that programme, and offer what there is about it."""
        knowledge = self.knowledge
        texts = knowledge.texts
        self._log_unanswered(turn, turn.text)
        turn.outcome = "unknown"
        turn.state.last_programme = programme_id
        programme = knowledge.programmes[programme_id]
        overview = next(
            (e for e in knowledge.faq if e.programme == programme_id and e.topic == "about"), None
        )
        choices = [Choice(overview.question, f"faq:{overview.id}")] if overview is not None else []
        choices.append(Choice(texts.menu_contact, "menu:contact"))
        text = texts.no_answer_on_topic.format(
            topic=texts.topic_names.get(cast(Topic, topic), topic),
            programme=programme.short_name,
            hub_contact=texts.hub_contact,
        )
        turn.replies.append(Reply(text, choices=tuple(choices), kind="fallback"))

    def _log_unanswered(self, turn: _Turn, question: str) -> None:
        masked = mask_personal(question)
        turn.slot.record(UnansweredRecord(masked, self.matcher.normaliser.normalise(masked)))

    def _log_pick(self, turn: _Turn, question: str, faq_id: str) -> None:
        """Their wording, masked, is a candidate phrasing of the entry they chose (bot/suggestions.py)."""
        masked = mask_personal(question)
        turn.slot.record(PickRecord(faq_id, masked, self.matcher.normaliser.normalise(masked)))

    # -- menus ---------------------------------------------------------------------------------
    def welcome(self) -> Reply:
        """The greeting with the main menu, for front ends that greet users unprompted."""
        return Reply(self.knowledge.texts.greeting, choices=self._menu())

    def _menu(self) -> tuple[Choice, ...]:
        texts = self.knowledge.texts
        return (
            Choice(texts.menu_fit, "menu:fit"),
            Choice(texts.menu_contact, "menu:contact"),
            Choice(texts.menu_help, "menu:help"),
        )

    def _help(self) -> Reply:
        return Reply(self.knowledge.texts.help, choices=self._menu())

    def flows(self) -> Sequence[Flow]:
        return tuple(self._flows.values())


def _entry_choices(candidates: Iterable[Candidate]) -> tuple[Choice, ...]:
    """A button per FAQ entry, labelled with its question; pressing it answers that entry."""
    return tuple(Choice(c.entry.question, f"faq:{c.entry.id}") for c in candidates)
