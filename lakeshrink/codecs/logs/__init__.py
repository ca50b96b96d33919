"""Lossless log template compression.

Lines are split into header fields and Content by a Loghub-style format (:mod:`.header`), Contents are grouped
into templates by a Drain miner (:mod:`.miner`), and every chunk becomes typed, separately compressed columns
(:mod:`.columns`, :mod:`.chunk`) in a checksummed archive (:mod:`.archive`). Every chunk is decoded and compared
with its input before it is written, so the codec is byte-exact by construction. The Arrow API is
:class:`~lakeshrink.codecs.logs.codec.LogCodec`.
"""

from __future__ import annotations
