"""Scale-out: a job cut into sub-jobs that run on an executor's workers or a Dask cluster."""
