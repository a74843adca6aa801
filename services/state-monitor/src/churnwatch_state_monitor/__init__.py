"""ChurnWatch package."""
