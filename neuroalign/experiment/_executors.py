"""Executors: run units here (local) or on a Dask cluster.

``LocalExecutor`` runs units one after another in this process. ``DaskExecutor``
submits them to a ``distributed`` cluster: the scheduler at ``address``
(``tcp://host:port``), or a ``LocalCluster`` started for the run when no address is
given. On a SLURM cluster, start the workers with dask-jobqueue and pass the
scheduler's address (or the client)::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, memory="32GB", walltime="02:00:00")
    cluster.scale(jobs=4)
    # then: neuroalign run experiment.yaml --executor dask --address <cluster.scheduler_address>

Results come back to this process, which writes them; workers need the inputs only,
which are sent once each (scattered). Units compute the same numbers on either
executor.
"""

from neuroalign._optional import import_optional

__all__ = ["EXECUTORS", "DaskExecutor", "LocalExecutor", "make_executor"]

EXECUTORS = ("local", "dask")


class LocalExecutor:
    """Run units in this process, in order."""

    def run(self, function, tasks):
        """Yield ``(key, function(*args))`` for each ``(key, args)`` of ``tasks``.

        Parameters
        ----------
        function : callable
        tasks : list of (str, tuple)

        Yields
        ------
        key : str
        result : object
        """
        for key, args in tasks:
            yield key, function(*args)

    def close(self):
        """Nothing to release."""


class DaskExecutor:
    """Run units on a Dask ``distributed`` cluster, yielding results as they finish.

    Parameters
    ----------
    address : str, optional
        Scheduler address, e.g. ``"tcp://10.0.0.5:8786"``; default a LocalCluster.
    client : distributed.Client, optional
        An existing client (e.g. of a dask-jobqueue cluster); not closed at the end.
    n_workers : int, optional
        Workers of the LocalCluster (default: Dask's choice).
    threads_per_worker : int, default=1
    processes : bool, default=True
        LocalCluster workers in separate processes.
    """

    def __init__(
        self, address=None, *, client=None, n_workers=None, threads_per_worker=1, processes=True
    ):
        distributed = import_optional(
            "distributed", extra="distributed", feature="The Dask executor"
        )
        self._owned = []
        if client is None:
            if address is None:
                cluster = distributed.LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=threads_per_worker,
                    processes=processes,
                    dashboard_address=None,
                )
                self._owned.append(cluster)
                address = cluster
            client = distributed.Client(address)
            self._owned.insert(0, client)
        self.client = client
        self._as_completed = distributed.as_completed

    def run(self, function, tasks):
        """Submit every task; yield ``(key, result)`` as each finishes.

        Inputs shared by several tasks are sent to the cluster once.

        Parameters
        ----------
        function : callable
        tasks : list of (str, tuple)

        Yields
        ------
        key : str
        result : object
        """
        scattered = {}

        def remote(value):
            if id(value) not in scattered:
                scattered[id(value)] = self.client.scatter(value, direct=False)
            return scattered[id(value)]

        futures = {}
        for key, args in tasks:
            unit, *inputs = args
            future = self.client.submit(
                function, unit, *[remote(v) for v in inputs], key=f"neuroalign-{key}", pure=False
            )
            futures[future] = key
        try:
            for future in self._as_completed(list(futures)):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self):
        """Close the client and cluster this executor started."""
        for owned in self._owned:
            owned.close()


def make_executor(name="local", *, address=None, client=None):
    """The executor called ``name``.

    Parameters
    ----------
    name : {"local", "dask"}, default="local"
    address : str, optional
        Dask scheduler address.
    client : distributed.Client, optional

    Returns
    -------
    executor : LocalExecutor or DaskExecutor

    Raises
    ------
    ValueError
        If ``name`` is unknown, or an address is given for the local executor.
    """
    from neuroalign._validation import check_option

    check_option("executor", name, EXECUTORS)
    if name == "local":
        if address is not None or client is not None:
            raise ValueError(
                f"'address' ({address!r}) is for the Dask executor; pass executor='dask' "
                "(--executor dask) to use a cluster."
            )
        return LocalExecutor()
    return DaskExecutor(address, client=client)
