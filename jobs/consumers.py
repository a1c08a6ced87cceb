"""The websocket that delivers job events: one group per user, checked on connect."""

from channels.generic.websocket import AsyncWebsocketConsumer

from jobs.progress import user_group


class JobsConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)  # refused before accept: the handshake fails with 403
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        group = getattr(self, "group", None)
        if group:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        """Browsers have nothing to say on this socket; ignore whatever they send."""

    async def job_update(self, event):
        await self.send(text_data=event["html"])
