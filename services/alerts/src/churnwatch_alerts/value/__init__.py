"""Customer value analysis: periodic, archived reviews of current and potential value."""
