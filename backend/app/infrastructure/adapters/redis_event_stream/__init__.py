"""Domain events over one Redis Stream: published by the outbox relay, read by every process.

`RedisStreamEventPublisher` appends committed events to the stream. `EventStreamGroupConsumer`
hands each event to one consumer of its group (the workers: each group sees every event once, and
what a crashed or failing consumer left is claimed again). `EventStreamFollower` hands every event
to every process that follows (the API processes, without a group).

Delivery is at least once: a handler may see an event again (a lost ack, a reclaimed entry, the
outbox republishing after Redis lost the stream), and dedupes it with `ProcessedEvents`.

Blocking reads need a client whose socket timeout is longer than the block, or none
(`stream_reader_client`): with redis-py's default of 5 s, a block of 5 s or more times out, and on
Python 3.11 a read that times out can swallow the task's cancellation.
"""

from app.infrastructure.adapters.redis_event_stream.entries import (
    MAXLEN,
    STREAM,
    EventHandler,
    stream_reader_client,
)
from app.infrastructure.adapters.redis_event_stream.follower import EventStreamFollower
from app.infrastructure.adapters.redis_event_stream.group_consumer import (
    MAX_DELIVERIES,
    EventStreamGroupConsumer,
)
from app.infrastructure.adapters.redis_event_stream.publisher import RedisStreamEventPublisher

__all__ = [
    "MAXLEN",
    "MAX_DELIVERIES",
    "STREAM",
    "EventHandler",
    "EventStreamFollower",
    "EventStreamGroupConsumer",
    "RedisStreamEventPublisher",
    "stream_reader_client",
]
