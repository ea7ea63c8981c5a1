"""The LLM judge: it scores every candidate blind with a rubric, compares answers to one
input in both orders, and is calibrated against the team's own votes (``trust``)."""
