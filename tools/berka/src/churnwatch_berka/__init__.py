"""ChurnWatch Berka loader: real bank data mapped to the event catalogue."""
