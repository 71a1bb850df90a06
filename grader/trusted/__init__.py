"""The trusted side: draws inputs, reads artifacts as hostile data, judges against the reference."""
