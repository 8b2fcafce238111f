"""``radio relay``: the station's Icecast mount on another machine's Discord rooms, not re-encoded.

::

    mount.MountReader ──► jitter.JitterBuffer ──► feed.RelayFeed ──► bot.sender.Broadcaster
    (aiohttp GET,          (bursts in,             (a packet per       (the station's own
     demux.OggOpusDemuxer)  bounded delay)          frame, or silence)  sender and rooms)

node.RelayNode puts them together with its voices (voices: one bot per account, all on
the one broadcaster); config reads the relay file.
"""
