"""ChurnWatch simulator: a seeded synthetic core bank."""
