"""The critical path, hop by hop, on every node: each node's maintenance thread (maintenance/)
writes snapshots of its callback queue, wsrelay and channel layer to the shared database;
``eventdebug path`` reads them and names the first hop over its threshold."""
