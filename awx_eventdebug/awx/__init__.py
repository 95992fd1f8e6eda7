"""What the app knows of AWX itself: its job event tables and the messages it sends to websocket
groups, written down once for every feature that reads them."""
