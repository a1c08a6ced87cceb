"""The websocket that delivers job events: one group per user, checked on connect."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from jobs.progress import user_group


class JobsConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)  # refused before accept: the handshake fails with 403
            return
        self.seen = {}  # job id -> highest progress seq sent on this socket
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        # Group messages may have been dropped (channel over capacity) and htmx-ws replays nothing
        # after a reconnect: every connect starts from a full snapshot of this user's jobs.
        events = await self.snapshot(user.pk)
        if events:
            for event in events:
                self.seen[event["job"]] = max(self.seen.get(event["job"], -1), event["seq"])
            await self.send(text_data="".join(event["html"] for event in events))

    @database_sync_to_async
    def snapshot(self, user_id):
        from django.contrib.auth import get_user_model

        from jobs.progress import job_event
        from jobs.selectors import panel_jobs

        user = get_user_model()(pk=user_id)
        return [job_event(job) for job in panel_jobs(user, limit=20)]

    async def disconnect(self, code):
        group = getattr(self, "group", None)
        if group:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        """Browsers have nothing to say on this socket; ignore whatever they send."""

    async def job_update(self, event):
        job, seq = event.get("job"), event.get("seq")
        if job is not None and seq is not None:
            if seq < self.seen.get(job, -1):
                return  # an older card overtook a newer one between processes: never go backwards
            self.seen[job] = seq
        await self.send(text_data=event["html"])
