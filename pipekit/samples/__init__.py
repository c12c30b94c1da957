"""Sample source data for demos and tutorials: generated, deterministic, self-contained.

``shop`` is the quickstart's SQLite shop (products, customers, orders) and the
changes an application would make to it. A sample only makes data: defining
connections and modules over it is a service's job
(``pipekit.services.quickstart``), so nothing here imports the engine, the
drivers or the state store.
"""
