"""Insight into a show: what stops viewers buying, while live and after (issue 18).

Pure rules over a show's events (:mod:`.events`): the funnel of each pinned product
(:mod:`.funnel`), blockers heard in the chat (:mod:`.blockers`), alerts, suggestions and
the worst metric (:mod:`.alerts`), all folded by :class:`.pulse.RoomPulse`. The live
dock and the post-show report both use them, so they show the same numbers.
"""
