"""Honest verdicts: evidence, intervals, Bradley-Terry, standings, head-to-head, bias."""
