"""The Discord adapter: the only package (with radio.sandbox) that imports discord.

Voice (:mod:`radio.bot.audio`), permissions, announcement rendering and rate
limiting, and the client itself. The engine, grid and store know nothing of it.
"""
