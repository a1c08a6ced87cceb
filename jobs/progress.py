"""The one place that publishes job events to browsers (through the channel layer)."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def user_group(user_id):
    """Every user has exactly one group; a websocket joins only its own user's group."""
    return f"jobs-user-{int(user_id)}"


def send_to_user(user_id, html):
    """Push a server-rendered HTML fragment to every open page of this user."""
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(user_group(user_id), {"type": "job.update", "html": html})
