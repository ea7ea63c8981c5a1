"""The review loop: proposals, the runner and its publishing protocol, providers, costs,
the prompt-template sandbox, ratings and reveal."""
