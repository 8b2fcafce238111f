"""DAVE, Discord's end-to-end encryption for voice rooms, on the sandbox's side.

``mls``: the external sender's MLS messages (RFC 9420, written here);
``room``: one room's group as the voice server runs it (opcodes 21-31);
``member``: a listener who is a group member with its own davey session and
decrypts what it hears; ``rooms``: every room's group, and the frame gate the
UDP listener calls.
"""
