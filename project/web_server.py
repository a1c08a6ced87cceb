"""The web process: daphne, with limits on request bodies enforced before the bytes are stored.

daphne (Twisted) receives a request's whole body into a temporary file before the ASGI application,
and so any authentication, ever runs: without a limit, `curl --data-binary @/dev/zero` from anyone
fills the disk. These limits act as soon as the headers are in, and then as the body streams in:

- a request that is not a logged-in user's may carry a small body only (ANONYMOUS_MAX_REQUEST_BYTES:
  the login form and the like): a bigger one is answered 401 before its body is read. Whether a
  session cookie or `Authorization: Bearer` token is real is looked up (one query, in a thread)
  only for a bigger or chunked body, while the connection's reading is paused;
- any request is cut off with a 413 once its body passes MAX_REQUEST_BYTES (by Content-Length up
  front, or counted while a chunked body arrives).

It also keeps Twisted from parsing multipart bodies in memory (see BodyLimitedRequest), and gives
responses flow control (SendWindow): daphne writes each body message to Twisted's transport at
once, which buffers whatever the client has not taken yet, so a slow client downloading a 10 GB
ZIP would hold up to 10 GB in this process. Here the application's next body message waits while
the client's socket is full.

Django still authenticates the request itself once the body is in; this only stops bodies that
cannot belong to a logged-in user. Run as `python -m project.web_server` with daphne's
own arguments (the Procfile and the tests do).
"""

import asyncio
import io
import json
import logging
import sys

from daphne import server as daphne_server
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from django.conf import settings
from django.utils.translation import gettext as _
from twisted.web import http

logger = logging.getLogger(__name__)

REASONS = {
    401: b"Unauthorized",
    413: b"Content Too Large",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
}
# After answering a request it will not read, the server keeps discarding what the client still
# sends for this long: closing with unread bytes would reset the connection, and the client would
# lose the answer (a "network error" instead of a 414).
LINGER_SECONDS = 5


def presented_credentials(request):
    """(session key, API key) the request carries, each or None."""
    from project.request_credentials import presented_credentials

    authorization = request.requestHeaders.getRawHeaders(b"Authorization") or [b""]
    cookie = request.received_cookies.get(settings.SESSION_COOKIE_NAME.encode())
    return presented_credentials(cookie, authorization[0])


def _size(limit):
    return f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit / 1024:g} KB"


class SendWindow:
    """A streaming producer on one response: Twisted pauses it while the transport's send buffer
    is full and resumes it once drained (or stops it when the connection is lost); `wait` holds
    the application's next body message meanwhile."""

    def __init__(self):
        self._resumed = None

    def pauseProducing(self):
        if self._resumed is None:
            self._resumed = asyncio.get_event_loop().create_future()

    def resumeProducing(self):
        resumed, self._resumed = self._resumed, None
        if resumed is not None and not resumed.done():
            resumed.set_result(None)

    stopProducing = resumeProducing  # the connection is gone: let the application finish

    async def wait(self):
        if self._resumed is not None:
            await self._resumed


class FlowControlledServer(daphne_server.Server):
    async def handle_reply(self, protocol, message):
        await super().handle_reply(protocol, message)
        window = getattr(protocol, "send_window", None)
        if window is not None:
            await window.wait()


class BodyLimitedRequest(WebRequest):
    refused = False
    send_window = None
    authenticated = False
    checking = None  # the credentials lookup under way, if any
    held = None  # requestReceived's arguments, while the lookup is under way
    expects_continue = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Twisted would read a whole multipart body into memory to parse it into `request.args`
        # (and answer an empty 400 itself when it cannot): daphne never uses them, and Django
        # parses the body streaming from its temporary file.
        self._parsePOSTFormSubmission = False

    def gotLength(self, length):
        """The headers are in (the channel parsed the cookies): decide this request's body limit."""
        self.body_received = 0
        self.declared_length = length
        self.body_limit = settings.ANONYMOUS_MAX_REQUEST_BYTES
        session_key, api_key = presented_credentials(self)
        if length is not None and length <= self.body_limit:
            pass  # small enough for anyone: no lookup
        elif session_key or api_key:
            # Read nothing more until the credentials are known (a chunk already received may
            # still come in), and invite the body ("100 Continue") only if they are valid.
            self.channel.transport.pauseProducing()
            if self.requestHeaders.hasHeader(b"Expect"):
                self.expects_continue = (
                    b"100-continue" in self.requestHeaders.getRawHeaders(b"Expect")[0].lower()
                )
                self.requestHeaders.removeHeader(b"Expect")
            self.checking = asyncio.ensure_future(self.check_credentials(session_key, api_key))
        elif length is not None:
            self.refuse()
            return
        super().gotLength(length)

    async def check_credentials(self, session_key, api_key):
        from project.request_credentials import check_credentials

        try:
            valid = await check_credentials(session_key, api_key)
        except Exception:
            logger.exception("could not check a request's credentials; treated as anonymous")
            valid = False
        self.checking = None
        if self.refused or self._disconnected or self.channel is None:
            return
        if valid:
            self.authenticated = True
            self.body_limit = settings.MAX_REQUEST_BYTES
        if max(self.declared_length or 0, self.body_received) > self.body_limit:
            self.refuse()
            return
        if self.expects_continue:
            self.channel.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if self.held is None:
            self.channel.transport.resumeProducing()
        else:  # the whole body came in meanwhile (the channel reads on once the response is done)
            super().requestReceived(*self.held)

    def handleContentChunk(self, data):
        if self.refused:
            return
        self.body_received += len(data)
        if self.body_received > self.body_limit and self.checking is None:
            self.refuse()
            return
        super().handleContentChunk(data)

    def handle_reply(self, message):
        if message["type"] == "http.response.start" and self.producer is None:
            self.send_window = SendWindow()
            self.registerProducer(self.send_window, True)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            if self.producer is not None:
                self.unregisterProducer()  # before finish(): Twisted wants it gone by then
            self.send_window = None
        super().handle_reply(message)

    def requestReceived(self, command, path, version):
        if self.checking is not None:
            self.held = (command, path, version)
        elif not self.refused:
            super().requestReceived(command, path, version)

    def refuse(self):
        """Answer at once and close: nothing more of this body is read or stored."""
        self.refused = True
        self.content = io.BytesIO()  # Twisted's clean-up expects one
        if self.authenticated:
            status = 413
            limit = {"limit": _size(settings.MAX_REQUEST_BYTES)}
            message = _("The request body is larger than the limit of %(limit)s.") % limit
        else:
            status = 401
            limit = {"limit": _size(settings.ANONYMOUS_MAX_REQUEST_BYTES)}
            message = (
                _("Log in (or send an API token) first: without one a request body may take %(limit)s.")
                % limit
            )
        # The channel would otherwise answer "Expect: 100-continue" next, inviting the body.
        self.requestHeaders.removeHeader(b"Expect")
        logger.warning("refused a request body (%d): %s", status, message)
        self.channel.transport.write(error_response(status, message))
        self.channel.transport.loseConnection()


def error_response(status, message):
    body = json.dumps({"error": message}).encode()
    head = (
        b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n" % (status, REASONS[status], len(body))
    )
    return head + body


class HeadLimitedChannel(http.HTTPChannel):
    """Twisted's HTTP connection, answering a request line or headers over its limits (16 KB
    each line, 16 KB in all) with a 414 or 431, as a production server does, where Twisted
    closes the connection without a word (a line too long) or answers a bare 400."""

    def lineLengthExceeded(self, line):
        limit = {"limit": _size(self.MAX_LENGTH)}
        if self._HTTPChannel__first_line:  # no request line yet: this is it
            self.refuse_head(414, _("The request line is longer than %(limit)s: shorten the URL.") % limit)
        else:
            self.refuse_head(431, _("A request header is longer than %(limit)s.") % limit)

    def _respondToBadRequestAndDisconnect(self):
        if self._receivedHeaderSize > self.totalHeadersSize:
            limit = {"limit": _size(self.totalHeadersSize)}
            self.refuse_head(431, _("The request line and headers are larger than %(limit)s in all.") % limit)
        elif self._receivedHeaderCount > self.maxHeaders:
            count = {"count": self.maxHeaders}
            self.refuse_head(431, _("A request may carry at most %(count)d headers.") % count)
        else:
            super()._respondToBadRequestAndDisconnect()

    def refuse_head(self, status, message):
        logger.warning("refused a request head (%d): %s", status, message)
        self.transport.write(error_response(status, message))
        self.dataReceived = self.lineReceived = lambda *args: None
        self.transport.loseWriteConnection()
        self.setTimeout(LINGER_SECONDS)  # then closed, if the client has not closed it first


class BodyLimitedHTTPFactory(HTTPFactory):
    def protocol(self):
        # Twisted's own factory function (http._genericHTTPChannelProtocolFactory), with our channel.
        return http._GenericHTTPChannelProtocol(HeadLimitedChannel())

    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BodyLimitedRequest
        return protocol


class WebServerCommandLine(CommandLineInterface):
    server_class = FlowControlledServer


def main(argv):
    # daphne's Server builds its HTTP factory by this module-level name; ours adds the limits.
    daphne_server.HTTPFactory = BodyLimitedHTTPFactory
    WebServerCommandLine().run(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
