"""Privacy lifecycle: erasure with a proof, retention limits, objections to marketing (issue 19)."""
