"""The stand-in's files: the two-step external upload (``files.getUploadURLExternal``, a
POST of the bytes, ``files.completeUploadExternal``) and private downloads that, as in
Slack, serve the bytes only to the bot token."""

from __future__ import annotations

from urllib.parse import quote

from promptbot.standins.server import HTTPReply, HTTPRequest
from promptbot.standins.slack_records import (
    BOT_USER_ID,
    TEAM_ID,
    WORKSPACE_URL,
    JSONDict,
    SlackError,
    UploadedFile,
    need,
)
from promptbot.standins.slack_state import SlackState


class FileMethods(SlackState):
    def add_user_file(self, filename: str, content: bytes, *, user: str = "U1") -> JSONDict:
        """A file as if ``user`` had attached it (to a modal's file_input, say): returns the
        file object Slack submits, whose ``url_private_download`` serves ``content`` to the
        bot token and, as Slack does, a sign-in page (HTML, 200) to anything else."""
        with self._lock:
            file_id = self._next_id("F")
            self._files[file_id] = UploadedFile(
                file_id, filename, len(content), content, filename, completed=True
            )
        url = f"{self.root_url}/files-pri/{TEAM_ID}-{file_id}"
        return {
            "id": file_id,
            "name": filename,
            "title": filename,
            "filetype": filename.rpartition(".")[2] or "text",
            "size": len(content),
            "user": user,
            "url_private": f"{url}/{quote(filename)}",
            "url_private_download": f"{url}/download/{quote(filename)}",
        }

    def _download(self, request: HTTPRequest, rest: str) -> HTTPReply:
        file_id = rest.split("/", 1)[0].removeprefix(f"{TEAM_ID}-")
        with self._lock:
            upload = self._files.get(file_id)
        if upload is None or upload.content is None:
            return HTTPReply.of_text("file not found", 404)
        if request.headers.get("authorization") != f"Bearer {self.bot_token}":
            page = b"<!DOCTYPE html><title>Slack</title><p>Sign in to continue</p>"
            return HTTPReply(200, page, {"Content-Type": "text/html; charset=utf-8"})
        return HTTPReply(200, upload.content, {"Content-Type": "application/octet-stream"})

    def _upload(self, request: HTTPRequest, file_id: str) -> HTTPReply:
        with self._lock:
            upload = self._files.get(file_id)
            if upload is None:
                return HTTPReply.of_text("unknown file", 404)
            upload.content = request.body
        return HTTPReply.of_text(f"OK - {len(request.body)}")

    def _api_files_getUploadURLExternal(self, params: JSONDict) -> JSONDict:
        filename, length = need(params, "filename", "length")
        file_id = self._next_id("F")
        self._files[file_id] = UploadedFile(file_id, filename, int(length))
        return {"upload_url": f"{self.root_url}/upload/v1/{file_id}", "file_id": file_id}

    def _api_files_completeUploadExternal(self, params: JSONDict) -> JSONDict:
        need(params, "files")
        entries = params["files"]
        if not isinstance(entries, list):
            raise SlackError("invalid_arguments", "files must be a JSON list")
        found = [self._files.get(str(e.get("id"))) for e in entries]
        if not all(f is not None and f.content is not None for f in found):
            raise SlackError("file_not_found")
        channel_id = params.get("channel_id") or str(params.get("channels") or "").split(",")[0]
        out = []
        for entry, upload in zip(entries, found, strict=True):
            assert upload is not None
            upload.title = entry.get("title") or upload.filename
            upload.channel_id = channel_id or None
            upload.initial_comment = params.get("initial_comment")
            upload.thread_ts = params.get("thread_ts")
            upload.completed = True
            out.append(
                {
                    "id": upload.id,
                    "name": upload.filename,
                    "title": upload.title,
                    "size": len(upload.content or b""),
                    "permalink": f"{WORKSPACE_URL}files/{BOT_USER_ID}/{upload.id}",
                }
            )
        return {"files": out}
