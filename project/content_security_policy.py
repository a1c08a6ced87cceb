"""The Content-Security-Policy header on every response, from the SECURE_CSP setting.

Django 5.2 has no CSP support of its own; 6.0 adds it with this very setting shape (a dict of
directive -> list of sources, `"'self'"` quoted as in the header), so upgrading means dropping
this middleware for `django.middleware.csp.ContentSecurityPolicyMiddleware`. No nonces are
needed: the pages have no inline script or style element, htmx is told not to inject its
indicator styles nor to evaluate code (`<meta name="htmx-config">` in templates/base.html).
"""

from urllib.parse import urlsplit

from django.conf import settings

HEADER = "Content-Security-Policy"


def build_policy(directives):
    """`{"default-src": ["'self'"], "object-src": ["'none'"]}` -> "default-src 'self'; object-src 'none'"."""
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


def media_origins(environ):
    """Where presigned media redirects lead (thumbnails in <img> follow them): the S3 endpoint's
    origin, or AWS's when none is set; nothing for local storage (served by this site)."""
    if (environ.get("MEDIA_STORAGE") or "local").strip().lower() != "s3":
        return []
    endpoint = environ.get("AWS_S3_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint)
        return [f"{parts.scheme}://{parts.netloc}"]
    region = environ.get("AWS_S3_REGION_NAME") or "us-east-1"
    return ["https://s3.amazonaws.com", f"https://s3.{region}.amazonaws.com"]


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = build_policy(settings.SECURE_CSP)

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy and HEADER not in response:
            response[HEADER] = self.policy
        return response
