"""A big show's SFU: Janus and simple-whip-server, configured from the show's settings.

``config`` makes their configuration (pure: text from settings), ``janus`` speaks
Janus's API, ``run`` writes the files, starts the programs and keeps them running.
"""
