"""Why a hop of the critical path is over its threshold, and what to change: the causes the hops
name (their ``causes``), each a section of docs/runbook.md.

The remedies name AWX's settings with their defaults in awx/settings/defaults.py, which are the
same on AWX 24.6.1 and devel: JOB_EVENT_WORKERS 4, JOB_EVENT_BUFFER_SECONDS 1,
JOB_EVENT_MAX_QUEUE_SIZE 10000, MAX_WEBSOCKET_EVENT_RATE 30, UI_LIVE_UPDATES_ENABLED True,
CHANNEL_LAYERS' capacity 10000, AWX_CONTROL_NODE_TASK_IMPACT 1, BROADCAST_WEBSOCKET_PORT 443.
"""

from __future__ import annotations

from .hop import Cause

BEFORE_QUEUE = Cause(
    "Events reach the callback queue late",
    "Find where the job ran: `eventdebug lag --by execution_node` names an execution node whose "
    "lag stands out. `created` is stamped on the execution node's clock and `modified` on the "
    "controller's, so sync the execution nodes' clocks (chrony/NTP) first. Then the node's load "
    "(lower its capacity_adjustment, or the jobs' forks), the receptor link to the controller "
    "(`receptorctl status`: hop nodes, latency), and the controller's CPU, where the job's runner "
    "callback reads the receptor stream and RPUSHes each event: more control nodes, or a higher "
    "AWX_CONTROL_NODE_TASK_IMPACT (default 1 on AWX 24.6.1 and devel: the capacity each job takes "
    "on its control node) so that fewer jobs share one.",
)
LAG_UNPLACED = Cause(
    "Event lag the path cannot place",
    "Let every node sample its hops (EVENTDEBUG['SAMPLE_INTERVAL'], default 10 seconds, or "
    "`eventdebug sample` from a timer): the callback queue's and the receiver's figures then clear "
    "the receiver or blame it. Meanwhile `eventdebug lag --by execution_node` shows whether one "
    "execution node's events stand out.",
)
RECEIVER_STOPPED = Cause(
    "The callback receiver does not consume the queue",
    "Start the callback receiver on that node (the awx-task container's or supervisord's "
    "callback-receiver program, `awx-manage run_callback_receiver`) and read its log for the "
    "error that stopped it; its workers BLPOP settings.CALLBACK_QUEUE (`callback_tasks`) from the "
    "node's Redis (BROKER_URL).",
)
RECEIVER_SHORT = Cause(
    "Too few callback receiver workers",
    "Raise JOB_EVENT_WORKERS (default 4 on AWX 24.6.1 and devel): the callback receiver's worker "
    "processes on each control node, each inserting up to 1000 events per batch. It pays only "
    "while the database's inserts stay fast; or spread the jobs over more control nodes.",
)
BUFFER_HELD = Cause(
    "The callback receiver holds events in its buffer",
    "Lower JOB_EVENT_BUFFER_SECONDS (default 1 on AWX 24.6.1 and devel): each worker keeps events "
    "in memory until that many seconds passed or 1000 events of a kind are buffered, and stamps "
    "`modified` only when it flushes them.",
)
SLOW_INSERTS = Cause(
    "The database inserts job events slowly",
    "Give the database IO and CPU, or take load off it: the receiver's bulk inserts into the "
    "event tables wait on it, and more JOB_EVENT_WORKERS (default 4) only add inserts to a "
    "saturated database. Look for long transactions and heavy jobs on the same database "
    "(cleanup_jobs, analytics gathering, VACUUM), and for batch errors in the receiver's log "
    "('Error in events bulk_create': every event of the batch is then saved one by one).",
)
EVENT_TABLE_LOCKED = Cause(
    "A lock on the event tables holds the receiver's inserts",
    "Find the session holding the lock (pg_locks joined with pg_stat_activity on the waiting "
    "insert's pid, `pg_blocking_pids(pid)`) and end its transaction: a partition's DDL, a VACUUM "
    "FULL, a migration or a session left idle in transaction on main_jobevent or its partitions. "
    "The receiver's inserts resume on their own.",
)
CHANNEL_OVERFLOW = Cause(
    "The channel layer drops websocket messages",
    "The browsers' daphne consumers read their channels slower than the receiver sends: lower "
    "MAX_WEBSOCKET_EVENT_RATE (default 30 messages per job per second on AWX 24.6.1 and devel; the "
    "controller's runner callback skips the websocket message of events past it), raise the "
    "channel layer's capacity (CHANNEL_LAYERS['default']['CONFIG']['capacity'], default 10000), "
    "add web capacity (more web replicas or daphne processes), or set UI_LIVE_UPDATES_ENABLED to "
    "False (default True) to send only the job's status changes.",
)
CHANNEL_FILLING = Cause(
    "A websocket consumer's queue is filling",
    "Its daphne process reads its channel slower than messages come: at capacity group_send drops "
    "them. Add web capacity (more web replicas or daphne processes), lower "
    "MAX_WEBSOCKET_EVENT_RATE (default 30 on AWX 24.6.1 and devel), or raise the channel layer's "
    "capacity (CHANNEL_LAYERS['default']['CONFIG']['capacity'], default 10000) to ride out bursts.",
)
RELAY_DOWN = Cause(
    "wsrelay lost a web node",
    "Check that the remote web node is up and reachable on BROADCAST_WEBSOCKET_PORT (default 443, "
    "BROADCAST_WEBSOCKET_PROTOCOL https, on AWX 24.6.1 and devel), that BROADCAST_WEBSOCKET_SECRET "
    "is the same on every node, and read wsrelay's log on this node (`awx-manage run_wsrelay "
    "--status` shows the connections); browsers on the remote node miss this node's events until "
    "it reconnects (every BROADCAST_WEBSOCKET_RECONNECT_RETRY_RATE_SECONDS, default 5).",
)
