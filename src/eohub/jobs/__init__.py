"""Prediction jobs: a model of the hub run over scenes on Dask, its result published as a dataset.

A job is a row of the ``jobs`` table (:mod:`~eohub.jobs.records`), made by :mod:`~eohub.jobs.service`
(what routes and the web form call) from a request checked by :mod:`~eohub.jobs.requests` and
resolved to scenes by :mod:`~eohub.jobs.inputs`. Every hub process runs a
:class:`~eohub.jobs.runner.JobRunner`, which claims queued jobs through the database
(:mod:`~eohub.jobs.queue`: one atomic update, so one process runs each), stages the model and the
inputs as local files (:mod:`~eohub.jobs.staging`), runs them on a Dask cluster
(:mod:`~eohub.jobs.execute`, the same parts as ``eohub predict --workers``) and commits the result
(:mod:`~eohub.jobs.publish`).
"""
