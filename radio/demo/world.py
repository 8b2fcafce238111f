"""The ``discord:`` configuration of a station broadcasting in the local Discord's guild."""

from __future__ import annotations

from radio.bot.config import DiscordConfig
from radio.sandbox.state import World


def demo_config(world: World, *, stage: bool = False) -> DiscordConfig:
    """The station in the sandbox guild: the ``On Air`` voice room (or the stage),
    ``#studio`` for announcements, programmers and admins, the guild's ``dj`` and
    ``admin`` roles; everyone may use the listener commands; prefix ``!``.

    Raises KeyError when the world lacks one of those roles.
    """
    guild = world.guild
    roles = {role.name: role.id for role in guild.roles.values()}
    text = world.text_channel.id
    room = world.stage_channel.id if stage else world.voice_channel.id
    return DiscordConfig.model_validate(
        {
            "prefix": "!",
            "message_content": True,
            "now_playing": "post",
            "guilds": [
                {
                    "id": guild.id,
                    "broadcast": room,
                    "announcements": text,
                    "programmers": text,
                    "admins": text,
                    "roles": {"dj": [roles["dj"]], "admin": [roles["admin"]]},
                }
            ],
        }
    )
