"""Training: settings, the loop, solvers, lr policies, the divergence guard, feeding, evaluation, snapshots,
the run folder, stop signals, data-parallel training and the run object that owns a whole run.

Nothing is imported here: ``graphnn.train.mpilaunch`` must be readable before NumPy loads.
"""
