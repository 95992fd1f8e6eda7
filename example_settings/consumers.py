"""The example project's ``/websocket/``: AWX's EventConsumer protocol (awx/main/consumers.py),
so the dashboard's live gauge works outside AWX. Example project only; the installed app ships no
consumer, because in AWX the real one already serves ``/websocket/``.

Protocol: an anonymous connection gets ``{"close": true}`` and is closed; a logged-in one gets
``{"accept": true, "user": <id>}``, then subscribes with
``{"groups": {"jobs": [...], "job_events": [<id>]}, "xrftoken": <csrftoken cookie>}`` and joins
the groups ``<name>-<value>`` (for example ``job_events-42``). Group messages of type
``internal.message`` are relayed as they are: their ``text`` is the JSON AWX built.
"""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

# AWX keeps the csrftoken cookie seen at connect in the session under this key.
XRF_KEY = "_auth_user_xrf"


class EventConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        await self.accept()
        if user is None or user.is_anonymous:
            await self.send_json({"close": True})
            await self.close()
            return
        await self.send_json({"accept": True, "user": user.id})
        cookie_token = self.scope["cookies"].get("csrftoken")
        if cookie_token:
            self.scope["session"][XRF_KEY] = cookie_token
        self.groups_joined = set()

    async def receive_json(self, content, **kwargs):
        session = self.scope["session"]
        xrftoken = content.get("xrftoken") if isinstance(content, dict) else None
        if not xrftoken or xrftoken != session.get(XRF_KEY):
            await self.send_json({"error": "access denied to channel"})
            return
        if "groups" not in content:
            return
        wanted = set()
        for name, values in content["groups"].items():
            if not isinstance(values, list):
                await self.send_json({"error": "access denied to channel"})
                return
            # AWX also checks the user's access to each object; the example has no RBAC.
            wanted.update(f"{name}-{value}" for value in values)
        left = self.groups_joined - wanted
        joined = wanted - self.groups_joined
        for group in left:
            await self.channel_layer.group_discard(group, self.channel_name)
        for group in joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = wanted
        await self.send_json(
            {"groups_current": sorted(wanted), "groups_left": sorted(left), "groups_joined": sorted(joined)}
        )

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def internal_message(self, event):
        await self.send(text_data=event["text"])
