"""Pure byte parsers for the station's devices (no I/O here).

Every protocol module has ``decode(buf) -> (consumed, frame | None)``: ``consumed == 0``
means "need more bytes"; ``consumed > 0`` with ``None`` means those bytes were dropped
(garbage, a bad checksum, a line that is not a reply). :class:`~.frames.StreamDecoder`
wraps such a function with a buffer and counters.
"""
