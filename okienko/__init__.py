"""The application core: factory, config, database, mail and its outbox, the scheduler
runner, error pages and the command line. It imports no feature: each feature package
(``booking``, ``queueing``) registers itself through its ``init_app(app)``."""
