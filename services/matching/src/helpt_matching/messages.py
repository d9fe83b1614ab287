"""Messages to volunteers (offers, taken, withdrawn, still needed) and requesters (we are still looking).

Crash-safe and sent once in the normal case:
- Every message is first *queued*: a document in `messages` whose `_id` names it (`offer:<match>`,
  `taken:<match>`, `withdrawn:<match>`, `still_needed:<volunteer>:<day>`, `reminder:<request>:<day>`),
  so queueing twice is a duplicate key. It holds ids, kind, channel name, status, attempts and the
  last error's class: never an address, never a text (both exist only while sending).
- `queue_offers` looks at the offers (open: an offer message; taken: a taken message; withdrawn or
  cancelled: a withdrawn message). A volunteer hears of an offer's end only if they were sent the offer.
- `deliver` sends pending messages: the address is revealed by gdpr (purpose volunteer-offer, or
  case-follow-up for a requester), then each try is claimed (`message:<id>:<n>` in `claims`, ADR 0009),
  so of several replicas one sends. gdpr unreachable: the message stays pending, untouched. A failed
  send is retried with a doubling wait, up to `max_attempts`, then marked failed. A crash between
  sending and marking sent sends once more (at-least-once); the Message-ID stays the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from helpt_contracts.roles import ActionKind, Purpose
from helpt_contracts.sealed import SealedField
from helpt_platform.auth import Refusal
from helpt_platform.claims import claim
from helpt_platform.gdpr_client import GdprClient, GdprUnavailable
from helpt_platform.logs import get_logger
from helpt_platform.keys import by_id, find_each
from helpt_matching.channels import Channel
from helpt_matching.links import OfferLinks
from helpt_matching.message_texts import Kind, Rendered, language_for, render
from helpt_matching.offers import TOLD, Status
from helpt_matching.areas import Areas
from helpt_matching.projections import Projections

__all__ = ["Kind", "Messenger", "State"]

log = get_logger(__name__)
STALE_TRY = dt.timedelta(minutes=5)
MAX_WAIT_S = 3600.0


class State:
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Nothing to tell any more: the offer ended before its message went, or the person is gone."""
    UNREACHABLE = "unreachable"
    """No address on a channel that is on."""


@dataclass(frozen=True)
class _Nothing:
    """Nothing to send: the state the message ends in, and why (a class-like word, no data)."""

    state: str
    reason: str | None


_KIND_OF = {Status.OPEN: Kind.OFFER, Status.TAKEN: Kind.TAKEN, Status.WITHDRAWN: Kind.WITHDRAWN, Status.CANCELLED: Kind.WITHDRAWN}
assert {s.value for s in _KIND_OF} == TOLD, "an offer is marked `tell` exactly when it has a message here"


class Messenger:
    def __init__(self, db: AsyncDatabase, projections: Projections, gdpr: GdprClient, links: Callable[[], OfferLinks],
                 channels: dict[str, Channel], *, public_url: str, tenants: tuple[str, ...], max_attempts: int,
                 retry_s: float, window: dt.timedelta, areas: Callable[[str], Areas]) -> None:
        self.queue = db["messages"]
        self.offers = db["offers"]
        self.claims = projections.claims
        self._projections = projections
        self._gdpr = gdpr
        self._links = links
        self._channels = channels
        self._base = public_url.rstrip("/")
        self._tenants = tenants
        self._max_attempts = max_attempts
        self._retry_s = retry_s
        self._window = window
        self._areas = areas  # each municipality's time zone is in its areas file
        self._indexed = False

    async def ready(self) -> None:
        if not self._indexed:
            await self.queue.create_index([("status", ASCENDING), ("next_at", ASCENDING)], name="by_due")
            self._indexed = True

    # -- the back office's one-click messages ---------------------------------------------------

    async def still_needed(self, tenant: str, volunteer_id: UUID, actor: str) -> bool:
        """Queue "you are still needed" to a volunteer (once a day); False when unknown, withdrawn or without address."""
        volunteer = await self._projections.volunteer(tenant, volunteer_id)
        channel = self._volunteer_channel(volunteer)
        if volunteer is None or volunteer.get("withdrawn") or channel is None:
            return False
        now = dt.datetime.now(dt.UTC)
        await self._queue(f"{Kind.STILL_NEEDED}:{volunteer_id}:{now.date()}", Kind.STILL_NEEDED, tenant, volunteer["subject_ids"],
                          channel, now, volunteer_id=volunteer_id, requested_by=actor)
        log.info("message queued", kind=Kind.STILL_NEEDED.value, volunteer_id=str(volunteer_id), actor=actor)
        return True

    async def remind_requester(self, tenant: str, request_id: UUID, actor: str) -> bool:
        """Queue "we are still looking" to a requester (once a day); False when unknown, closed or without e-mail."""
        request = await self._projections.request(tenant, request_id)
        if request is None or not request.get("open") or "email" not in (request.get("personal") or {}) \
                or "email" not in self._channels:
            return False
        now = dt.datetime.now(dt.UTC)
        await self._queue(f"{Kind.REMINDER}:{request_id}:{now.date()}", Kind.REMINDER, tenant, request["subject_ids"], "email",
                          now, request_id=request_id, requested_by=actor)
        log.info("message queued", kind=Kind.REMINDER.value, request_id=str(request_id), actor=actor)
        return True

    # -- the job --------------------------------------------------------------------------------

    async def run_once(self, now: dt.datetime) -> tuple[int, int]:
        """Queue what the offers call for, then send what is due: (queued, sent)."""
        await self.ready()
        return await self.queue_offers(now), await self.deliver(now)

    async def queue_offers(self, now: dt.datetime) -> int:
        """Queue an offer message per open offer, and a taken/withdrawn message per ended offer whose offer message went.

        The offers to look at are those marked `tell` (helpt_matching.offers.changed): each is told once, and unmarked
        when done, so a round reads only what changed since the last one, not every offer."""
        found = [o for tenant in self._tenants async for o in self.offers.find(
            {"tenant": tenant, "tell": True},
            {"tenant": 1, "status": 1, "volunteer_id": 1, "subject_ids": 1, "expires_at": 1, "created_at": 1}).limit(5000)]
        wanted, done = {}, []
        for offer in found:
            if offer["status"] in TOLD and offer["created_at"] >= now - self._window:
                wanted[f"{_KIND_OF[Status(offer['status'])]}:{offer['_id']}"] = offer
            else:
                done.append(offer)  # too old to tell: its link no longer works
        keys = [*wanted, *(f"{Kind.OFFER}:{o['_id']}" for o in wanted.values())]
        known = {m["_id"]: m for m in await find_each(self.queue, "_id", keys, {"status": 1, "channel": 1})}
        queued = 0
        for key, offer in wanted.items():
            kind = _KIND_OF[Status(offer["status"])]
            if key in known:
                pass  # told already
            elif kind is Kind.OFFER:
                if offer["expires_at"] > now:
                    channel = self._volunteer_channel(await self._projections.volunteer(offer["tenant"], offer["volunteer_id"]))
                    queued += await self._queue(key, kind, offer["tenant"], offer["subject_ids"], channel, now,
                                                match_id=offer["_id"], volunteer_id=offer["volunteer_id"])
            elif (first := known.get(f"{Kind.OFFER}:{offer['_id']}")) is not None and first["status"] == State.PENDING:
                continue  # its offer message has not gone yet: look again next round
            elif first is not None and first["status"] == State.SENT:
                queued += await self._queue(key, kind, offer["tenant"], offer["subject_ids"], first["channel"], now,
                                            match_id=offer["_id"], volunteer_id=offer["volunteer_id"])
            # else: the volunteer was never told of the offer, so there is nothing to take back
            done.append(offer)
        for offer in done:  # unmarked only if its status did not change since it was read
            await self.offers.update_one(by_id(offer["_id"], status=offer["status"], tell=True), {"$set": {"tell": False}})
        return queued

    async def deliver(self, now: dt.datetime, batch: int = 100) -> int:
        """Send the pending messages that are due; how many went. gdpr away: the round stops, the messages wait."""
        due = [m async for m in self.queue.find({"status": State.PENDING, "next_at": {"$lte": now}}).sort("next_at", 1).limit(batch)]
        sent = 0
        for message in due:
            try:
                sent += await self._deliver(message, now)
            except GdprUnavailable:
                log.warning("gdpr unavailable; messages stay pending", pending=len(due) - sent)
                break
        return sent

    # -- inside ---------------------------------------------------------------------------------

    def _volunteer_channel(self, volunteer: dict[str, Any] | None) -> str | None:
        """E-mail when we have the address; SMS (when on) for a volunteer with a phone number but no e-mail."""
        personal = (volunteer or {}).get("personal") or {}
        return next((name for name, channel in self._channels.items() if channel.field.value in personal), None)

    async def _queue(self, key: str, kind: Kind, tenant: str, subject_ids: list[Any], channel: str | None, now: dt.datetime,
                     **refs: Any) -> int:
        try:
            await self.queue.insert_one({
                "_id": key, "kind": kind.value, "tenant": tenant, "subject_ids": list(subject_ids), "channel": channel,
                "status": State.PENDING if channel else State.UNREACHABLE, "attempts": 0, "last_error": None,
                "queued_at": now, "next_at": now, **refs})
        except DuplicateKeyError:
            return 0
        return 1

    async def _deliver(self, message: dict[str, Any], now: dt.datetime) -> int:
        channel = self._channels.get(message.get("channel") or "")
        ready = await self._prepare(message, channel, now) if channel else _Nothing(State.SKIPPED, "ChannelOff")
        if isinstance(ready, _Nothing):
            await self._settle(message, ready.state, ready.reason)
            return 0
        purpose, action, subject_id, sealed, rendered = ready
        assert channel is not None
        try:
            address: str | None = (await self._gdpr.reveal(message["tenant"], subject_id, purpose, action,
                                                           {channel.field: sealed})).get(channel.field)
            error = None if address else "NoAddress"
        except GdprUnavailable:
            raise
        except Refusal as refusal:
            address, error = None, f"Refusal{refusal.status}"  # 403 may be gdpr not having seen the volunteer yet: retried
        attempt = message.get("attempts", 0) + 1
        if not await claim(self.claims, f"message:{message['_id']}:{attempt}", tenant=message["tenant"],
                           subject_ids=message["subject_ids"]):
            await self._catch_up(message, attempt, now)
            return 0
        await self.queue.update_one({"_id": message["_id"]}, {"$set": {"attempts": attempt}})
        if address is not None:
            try:
                await channel.send(address, message["_id"], rendered)
            except Exception as exc:  # noqa: BLE001 — any failure is retried; only its class is kept
                error = type(exc).__name__
        if error is None:
            await self._settle(message, State.SENT, None, sent_at=now)
            log.info("message sent", message_id=message["_id"], kind=message["kind"], channel=channel.name, attempt=attempt)
            return 1
        if attempt >= self._max_attempts or error == "Refusal410":  # 410: the subject's key is destroyed
            await self._settle(message, State.FAILED, error)
            log.warning("message failed", message_id=message["_id"], kind=message["kind"], error=error, attempts=attempt)
        else:
            wait = min(self._retry_s * 2 ** (attempt - 1), MAX_WAIT_S)
            await self._settle(message, State.PENDING, error, next_at=now + dt.timedelta(seconds=wait))
            log.info("message not sent; will retry", message_id=message["_id"], error=error, attempt=attempt, retry_in_s=wait)
        return 0

    async def _prepare(self, message: dict[str, Any], channel: Channel, now: dt.datetime) -> Any:
        """(purpose, action, subject id, sealed field, rendered) to send; or `_Nothing` when there is nothing to send."""
        kind, tenant = Kind(message["kind"]), message["tenant"]
        values: dict[str, Any] = {}
        if kind is Kind.REMINDER:
            person = await self._projections.request(tenant, message["request_id"])
            if person is None or not person.get("open"):
                return _Nothing(State.SKIPPED, "RequestClosed")
            values = {"task": person.get("task", ""), "reference": person.get("reference", "")}
            purpose, action_of = Purpose.CASE_FOLLOW_UP, (lambda _subject: (ActionKind.REQUEST, message["request_id"]))
        else:
            person = await self._projections.volunteer(tenant, message["volunteer_id"])
            if person is None:
                return _Nothing(State.SKIPPED, "VolunteerGone")
            purpose, action_of = Purpose.VOLUNTEER_OFFER, (lambda subject: (ActionKind.SUBJECT, subject))
        if kind in (Kind.OFFER, Kind.TAKEN, Kind.WITHDRAWN):
            offer = await self.offers.find_one(by_id(message["match_id"], tenant=tenant))
            if offer is None:
                return _Nothing(State.SKIPPED, "OfferGone")
            if kind is Kind.OFFER and (offer["status"] != Status.OPEN or offer["expires_at"] <= now):
                return _Nothing(State.SKIPPED, "OfferEnded")
            values = {"task": offer["task"], "distance_km": offer["distance_km"], "deadline": offer["expires_at"],
                      "link": f"{self._base}/m/{self._links().token(tenant, offer['_id'], now)}"}
        sealed = (person.get("personal") or {}).get(channel.field.value)
        if sealed is None or not person.get("subject_ids"):
            return _Nothing(State.UNREACHABLE, None)
        subject = person["subject_ids"][0]
        rendered: Rendered = render(kind, language_for(person.get("languages")), time_zone=str(self._areas(tenant).timezone), **values)
        return purpose, action_of(subject), subject, SealedField.model_validate(sealed), rendered

    async def _settle(self, message: dict[str, Any], state: str, error: str | None, **fields: Any) -> None:
        await self.queue.update_one({"_id": message["_id"]}, {"$set": {"status": state, "last_error": error, **fields}})

    async def _catch_up(self, message: dict[str, Any], attempt: int, now: dt.datetime) -> None:
        """A try whose claimer died before it counted the try: count it, so the next round can try again."""
        tried = await self.claims.find_one({"_id": f"message:{message['_id']}:{attempt}"}, {"claimed_at": 1})
        if tried is not None and tried["claimed_at"] <= now - STALE_TRY:
            await self.queue.update_one({"_id": message["_id"], "attempts": attempt - 1}, {"$set": {"attempts": attempt}})

