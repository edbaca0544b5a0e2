"""Accueil: a secure, multilingual, chat-based intake assistant."""

import os

# Nothing in Accueil loads onnxruntime, but if anything ever did, it must not
# write telemetry: set before any import could load it.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
