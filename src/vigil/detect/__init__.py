"""Detection: rules (Sigma and native) and ML detectors over columnar batches, raising alerts."""
