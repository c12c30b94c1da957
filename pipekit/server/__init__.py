"""The server: the app factory (``app.create_app``) and what `pipekit serve` runs
(``serve.build``): the REST API under /api (and, later, the web pages at /) over one
``Services``, with the run pool and the scheduler started in the app's lifespan."""
