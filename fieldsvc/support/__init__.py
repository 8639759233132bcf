"""On-site support (现场支撑): help reaching the installer at the customer's door."""
