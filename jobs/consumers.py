"""The websocket that delivers job events: one group per user, checked on connect.

A page shows job cards in its jobs panel (`#jobs-panel-list`) and maybe elsewhere (the job's own
page, the cards a page's form just started). Every card arrives as an htmx out-of-band swap that
has a target: on (re)connect the panel's list is replaced by a snapshot of the user's recent jobs,
and a job this socket has not shown yet is first inserted at the top of that list, then swapped
wherever else the page shows it.

A socket belongs to one login session: it is closed when that session logs out (a group per
session) and it checks the session again at most every JOBS_SESSION_RECHECK_SECONDS while events
flow, so an expired or deleted session stops receiving too.
"""

import time
from importlib import import_module

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings as django_settings

from jobs.conf import settings
from jobs.progress import STAFF_GROUP, job_event, session_group, user_group
from jobs.selectors import panel_jobs

PANEL_LIST = "jobs-panel-list"
REFUSED = 4401  # not a code the htmx ws extension reconnects on


def snapshot_message(events):
    cards = "".join(event["card"] for event in events)
    swaps = "".join(event["html"] for event in events)
    return f'<div id="{PANEL_LIST}" hx-swap-oob="innerHTML">{cards}</div>{swaps}'


def first_card_message(event):
    return f'<div hx-swap-oob="afterbegin:#{PANEL_LIST}">{event["card"]}</div>{event["html"]}'


class JobsConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=REFUSED)  # refused before accept: the handshake fails with 403
            return
        self.user_id, self.ended = user.pk, False
        self.seen = {}  # job id -> highest progress seq shown on this socket's page
        self.session_key = getattr(self.scope.get("session"), "session_key", None)
        self.checked_at = time.monotonic()
        self.joined = [user_group(user.pk)]
        if user.is_staff:
            self.joined.append(STAFF_GROUP)
        if self.session_key:
            self.joined.append(session_group(self.session_key))
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        # Group messages may have been dropped (channel over capacity) and htmx-ws replays nothing
        # after a reconnect: every connect starts from a full snapshot of this user's jobs.
        events = await self.snapshot(user)
        if events:
            for event in events:
                self.seen[event["job"]] = max(self.seen.get(event["job"], -1), event["seq"])
            await self.send(text_data=snapshot_message(events))

    @database_sync_to_async
    def snapshot(self, user):
        return [job_event(job) for job in panel_jobs(user)]

    async def disconnect(self, code):
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        """Browsers have nothing to say on this socket; ignore whatever they send."""

    async def session_ended(self, event):
        self.ended = True
        await self.close(code=REFUSED)

    async def job_update(self, event):
        if self.ended or not await self.session_is_current():
            return
        job, seq = event.get("job"), event.get("seq")
        html = event["html"]
        if job is not None and seq is not None:
            if seq < self.seen.get(job, -1):
                return  # an older card overtook a newer one between processes: never go backwards
            if job not in self.seen and "card" in event:
                html = first_card_message(event)
            self.seen[job] = seq
        await self.send(text_data=html)

    async def session_is_current(self):
        """False (and the socket closes) once its session no longer logs this user in."""
        if self.session_key is None:
            return True
        if time.monotonic() - self.checked_at < settings.JOBS_SESSION_RECHECK_SECONDS:
            return True
        self.checked_at = time.monotonic()
        store = import_module(django_settings.SESSION_ENGINE).SessionStore(session_key=self.session_key)
        user = await get_user({"session": store})
        if user.is_authenticated and user.pk == self.user_id:
            return True
        self.ended = True
        await self.close(code=REFUSED)
        return False
