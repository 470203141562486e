"""Text localization (a DBNet-style detector): not built yet; see issue 4."""
