"""Single-trial betas from BOLD runs with nilearn's GLM: LSA and LSS designs."""

import numpy as np
import pandas as pd

from data_adapters._files import read_table
from neuroalign._optional import import_optional
from neuroalign.exceptions import SchemaError

__all__ = ["METHODS", "read_confounds", "single_trial_betas"]

METHODS = ("lsa", "lss")
_TARGET, _OTHERS = "target__", "others__"


def single_trial_betas(Y, onsets, durations, *, t_r, method, confounds, glm_options):
    """One beta per trial and voxel for one run.

    Parameters
    ----------
    Y : ndarray of shape (n_scans, n_voxels)
    onsets, durations : ndarray of shape (n_trials,)
        Seconds from the first scan.
    t_r : float
    method : {"lsa", "lss"}
        ``"lsa"``: one GLM with a regressor per trial (least squares all).
        ``"lss"``: one GLM per trial with that trial and all other trials as two
        regressors (least squares separate, Mumford et al. 2012).
    confounds : pandas.DataFrame of shape (n_scans, n_confounds) or None
    glm_options : dict
        ``hrf_model``, ``drift_model``, ``high_pass`` and ``noise_model``.

    Returns
    -------
    betas : ndarray of shape (n_trials, n_voxels)
    """
    first_level = import_optional(
        "nilearn.glm.first_level", extra="fmri", feature="Single-trial betas"
    )
    frame_times = np.arange(Y.shape[0]) * t_r
    n_trials = len(onsets)
    names = [f"trial_{i:05d}" for i in range(n_trials)]

    def design(trial_types):
        events = pd.DataFrame({"onset": onsets, "duration": durations, "trial_type": trial_types})
        return first_level.make_first_level_design_matrix(
            frame_times,
            events,
            hrf_model=glm_options["hrf_model"],
            drift_model=glm_options["drift_model"],
            high_pass=glm_options["high_pass"],
            add_regs=None if confounds is None else confounds.to_numpy(float),
            add_reg_names=None if confounds is None else list(confounds.columns),
        )

    def fit(matrix, columns):
        labels, results = first_level.run_glm(
            Y, matrix.to_numpy(), noise_model=glm_options["noise_model"], verbose=0
        )
        rows = [matrix.columns.get_loc(column) for column in columns]
        betas = np.empty((len(rows), Y.shape[1]))
        for label, result in results.items():
            betas[:, labels == label] = result.theta[rows]
        return betas

    if method == "lsa":
        return fit(design(names), names)
    betas = np.empty((n_trials, Y.shape[1]))
    for i in range(n_trials):
        trial_types = [_OTHERS] * n_trials
        trial_types[i] = _TARGET
        betas[i] = fit(design(trial_types), [_TARGET])[0]
    return betas


def read_confounds(path, n_scans, columns):
    """Confound regressors of one run (NaNs, as in fMRIPrep's first rows, become 0)."""
    table = read_table(path, "confounds")
    if columns is not None:
        missing = [column for column in columns if column not in table.columns]
        if missing:
            raise SchemaError(
                f"'confound_columns': {missing} are not columns of {str(path)!r}; it has "
                f"{list(table.columns)[:20]}."
            )
        table = table[list(columns)]
    if len(table) != n_scans:
        raise SchemaError(
            f"'confounds': {str(path)!r} has {len(table)} rows but its run has {n_scans} "
            "scans; pass the confounds file of that run (one row per scan)."
        )
    values = table.apply(pd.to_numeric, errors="coerce")
    bad = [c for c in values.columns if values[c].isna().all()]
    if bad:
        raise SchemaError(
            f"'confounds': columns {bad} of {str(path)!r} are not numeric; select numeric "
            "columns with 'confound_columns'."
        )
    return values.fillna(0.0)
