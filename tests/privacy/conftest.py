"""Privacy tests reuse the model tests' trained model (erasure with a live churn model)."""

from tests.model.conftest import model_dir, sim  # noqa: F401 - fixtures
