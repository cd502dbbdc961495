"""What the tutorials share: positional encoding, masks, text, plotting and data."""
