"""The account page: the user's API token for scripts (create or rotate, revoke).

The key is shown once, right after it is made; only its digest is stored (media_library.api.tokens).
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from media_library.api.tokens import create_api_token, revoke_api_token
from media_library.models import ApiToken


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request):
    new_key = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            revoke_api_token(request.user)
            return redirect("api_token")
        _token, new_key = create_api_token(request.user)
    token = ApiToken.objects.filter(user=request.user).first()
    response = render(request, "account/api_token.html", {"token": token, "new_key": new_key})
    response["Cache-Control"] = "no-store"  # the page may hold a key shown only once
    return response
