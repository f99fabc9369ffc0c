"""API benchmark: seed synthetic datasets, serve with gunicorn, load with wrk."""
