"""Stores behind the engine's ports that live in a shared service (Redis), wired by
``executions.apps``. They import the engine's port; the engine never imports them."""
