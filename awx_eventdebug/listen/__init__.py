"""The live listener behind ``eventdebug listen``: a consumer of a job's websocket group on the
channel layer, and the running statistics of what it receives."""
