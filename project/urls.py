from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from project import account, health, views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    # Pages without a <link rel="icon"> (the admin, the API docs) make browsers ask for this.
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("account/token/", account.api_token, name="api_token"),
    path("", views.dashboard, name="dashboard"),
    path("jobs/", include("jobs.urls")),
    path("", include("media_library.urls")),
    path("api/", include("project.api_urls")),
]
