"""The web process: daphne, with limits on request bodies enforced before the bytes are stored.

daphne (Twisted) receives a request's whole body into a temporary file before the ASGI application,
and so any authentication, ever runs: without a limit, `curl --data-binary @/dev/zero` from anyone
fills the disk. These limits act as soon as the headers are in, and then as the body streams in:

- a request with no credentials (no session cookie, no `Authorization: Bearer` header) may carry a
  small body only (ANONYMOUS_MAX_REQUEST_BYTES: the login form and the like): a bigger one is
  answered 401 before its body is read;
- any request is cut off with a 413 once its body passes MAX_REQUEST_BYTES (by Content-Length up
  front, or counted while a chunked body arrives).

It also keeps Twisted from parsing multipart bodies in memory (see BodyLimitedRequest).

Whether the credentials are *valid* is Django's to decide, once the body is in; this only stops
bodies that cannot belong to a logged-in user. Run as `python -m project.web_server` with daphne's
own arguments (the Procfile and the tests do).
"""

import io
import json
import logging
import sys

from daphne import server as daphne_server
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from django.conf import settings

logger = logging.getLogger(__name__)

REASONS = {401: b"Unauthorized", 413: b"Content Too Large"}


def has_credentials(request):
    """A session cookie or a Bearer header: the request may be a logged-in user's."""
    if settings.SESSION_COOKIE_NAME.encode() in request.received_cookies:
        return True
    authorization = request.requestHeaders.getRawHeaders(b"Authorization") or [b""]
    return authorization[0][:7].lower() == b"bearer "


def _size(limit):
    return f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit / 1024:g} KB"


class BodyLimitedRequest(WebRequest):
    refused = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Twisted would read a whole multipart body into memory to parse it into `request.args`
        # (and answer an empty 400 itself when it cannot): daphne never uses them, and Django
        # parses the body streaming from its temporary file.
        self._parsePOSTFormSubmission = False

    def gotLength(self, length):
        """The headers are in (the channel parsed the cookies): decide this request's body limit."""
        self.body_received = 0
        self.credentials = has_credentials(self)
        self.body_limit = (
            settings.MAX_REQUEST_BYTES if self.credentials else settings.ANONYMOUS_MAX_REQUEST_BYTES
        )
        if length is not None and length > self.body_limit:
            self.refuse()
            return
        super().gotLength(length)

    def handleContentChunk(self, data):
        if self.refused:
            return
        self.body_received += len(data)
        if self.body_received > self.body_limit:
            self.refuse()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command, path, version):
        if not self.refused:
            super().requestReceived(command, path, version)

    def refuse(self):
        """Answer at once and close: nothing more of this body is read or stored."""
        self.refused = True
        self.content = io.BytesIO()  # Twisted's clean-up expects one
        if self.credentials:
            status = 413
            message = f"The request body is larger than the limit of {_size(settings.MAX_REQUEST_BYTES)}."
        else:
            status = 401
            limit = _size(settings.ANONYMOUS_MAX_REQUEST_BYTES)
            message = f"Log in (or send an API token) first: without one a request body may take {limit}."
        # The channel would otherwise answer "Expect: 100-continue" next, inviting the body.
        self.requestHeaders.removeHeader(b"Expect")
        body = json.dumps({"error": message}).encode()
        head = (
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n" % (status, REASONS[status], len(body))
        )
        logger.warning("refused a request body (%d): %s", status, message)
        self.channel.transport.write(head + body)
        self.channel.transport.loseConnection()


class BodyLimitedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BodyLimitedRequest
        return protocol


def main(argv):
    # daphne's Server builds its HTTP factory by this module-level name; ours adds the limits.
    daphne_server.HTTPFactory = BodyLimitedHTTPFactory
    CommandLineInterface().run(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
