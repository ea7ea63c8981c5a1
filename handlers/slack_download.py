"""The gateway's one plain HTTP read: Slack's Web API has no download method, so a file
someone attached is fetched from its private URL with the bot token."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient

from promptbot.errors import UsageError

_CHUNK = 64 * 1024


def fetch_file(client: WebClient, file: Mapping[str, Any], max_bytes: int, seconds: float) -> bytes:
    """A file someone attached, fetched with the bot token (needs files:read). Slack's
    Web API has no download method, so this is the gateway's one plain HTTP read."""
    url = str(file.get("url_private_download") or file.get("url_private") or "")
    if not on_slack_site(url, client.base_url):
        raise UsageError("that file is not stored on Slack; attach it again")
    if int(file.get("size") or 0) > max_bytes:
        raise UsageError(f"the file is over {max_bytes // 1_000_000} MB")
    request = urllib.request.Request(url)
    if client.token:
        # Unredirected: if Slack redirects (to a signed CDN address), the token stays.
        request.add_unredirected_header("Authorization", f"Bearer {client.token}")
    deadline = time.monotonic() + seconds
    try:
        with urllib.request.urlopen(request, timeout=seconds) as response:
            if "text/html" in response.headers.get("Content-Type", ""):
                # Slack's answer to a token without files:read is its sign-in page.
                raise UsageError("Slack did not hand over the file; the app may lack files:read")
            data = b""
            while chunk := response.read(_CHUNK):
                data += chunk
                if len(data) > max_bytes or time.monotonic() > deadline:
                    raise UsageError("the file is too large to read in time; paste the rows")
            return data
    except urllib.error.HTTPError as error:
        raise UsageError(f"Slack refused the file download (HTTP {error.code})") from None
    except (urllib.error.URLError, OSError):
        raise UsageError("the file could not be fetched from Slack; try again") from None


def on_slack_site(url: str, api_base: str) -> bool:
    """Only a file on the Web API's own site (files.slack.com for slack.com/api) gets
    the bot token: the submission names the URL, and the token must not go elsewhere."""
    target, api = urlsplit(url), urlsplit(api_base)
    host, api_host = target.hostname or "", api.hostname or ""
    return (
        bool(api_host)
        and target.scheme == api.scheme
        and (host == api_host or host.endswith("." + api_host))
    )
