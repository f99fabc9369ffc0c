"""The event queue: topology, transports, consumer and publisher."""
