"""The URLs of the jobs-only project (tests/support/jobs_only_settings.py)."""

from django.urls import include, path

urlpatterns = [path("jobs/", include("jobs.urls"))]
