"""The dashboard page: the other features' figures in one HTML page for admins, with a live
websocket lag gauge in place of AWX's debug.js snippet."""
