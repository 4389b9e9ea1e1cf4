"""The room core without I/O: the room's state folded from its events, and decisions.

A command and the room's state go in, a decision comes out (events to append, the
reply); the hub shell (:mod:`console.hub`) moves them across sockets, the store and the
bus. Nothing here reads a clock, a socket or the store, so every rule is tested without
them (``docs/architecture.md``, step 4).
"""
