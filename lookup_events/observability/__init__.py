"""What operators watch: Prometheus metrics, structured log lines, the metrics listener.

Every part of the code base may import this package (it imports only the
core); it knows nothing of the stores, the queue or HTTP frameworks, so the
figures it keeps are handed to it by whoever sees them happen.
"""
