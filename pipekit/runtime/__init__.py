"""The runtime around the data path: the run pool and its worker processes, the cron
scheduler, and failure notifications. It starts runs of ``pipekit.engine``; the
server (``pipekit.server``) and the services (``pipekit.services``) drive it."""
