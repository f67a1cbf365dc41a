"""Callbacks for ``Model.fit`` and ``graphnn run`` (defined in graphnn/train/callbacks.py):

    from graphnn.callbacks import CSVLogger, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
"""

from graphnn.train import callbacks as _defined

Callback, CSVLogger, EarlyStopping = _defined.Callback, _defined.CSVLogger, _defined.EarlyStopping
LambdaCallback, ModelCheckpoint, ReduceLROnPlateau = _defined.LambdaCallback, _defined.ModelCheckpoint, \
    _defined.ReduceLROnPlateau

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "LambdaCallback", "ModelCheckpoint", "ReduceLROnPlateau"]
