"""Files graphnn writes and reads back: bundles (a network with its weights in one file) and atomic writes."""
