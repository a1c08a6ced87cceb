from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from project import health, views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", views.dashboard, name="dashboard"),
    path("jobs/", include("jobs.urls")),
    path("", include("media_library.urls")),
    path("api/", include("project.api_urls")),
]
