"""Local stand-ins for Slack and the model API, served over real HTTP on 127.0.0.1.

The real ``slack_sdk.WebClient`` and ``openai.OpenAI`` clients talk to them unchanged, so
tests (and the terminal "shell" mode) exercise the same code paths as production.
"""

from promptbot.standins.blockkit import check_blocks, check_view
from promptbot.standins.openai_api import ModelRequest, OpenAIStandIn
from promptbot.standins.slack_api import Call, ResponsePost, SlackStandIn, UploadedFile

__all__ = [
    "Call",
    "ModelRequest",
    "OpenAIStandIn",
    "ResponsePost",
    "SlackStandIn",
    "UploadedFile",
    "check_blocks",
    "check_view",
]
