"""The path of a real "select all → Move to trash" request through the media library's modules.

The request is traced with sys.setprofile from the view to `jobs.submit`: each media_library
module it enters must be entered once, never again after all its frames have returned (the
code reads as a straight line: view → submit → registry → selection → folders → listing → …).
"""

import sys

import pytest
from django.test import Client
from django.urls import reverse

from media_library.folders import create_folder
from tests.support.library_rows import make_files

pytestmark = pytest.mark.django_db


class ModuleTrace:
    """Which media_library modules a call enters, in order, until it calls `jobs.submit`."""

    def __init__(self):
        self.entered, self.reentered = [], []
        self.active, self.left = {}, set()
        self.reached_submit = False

    def __call__(self, frame, event, arg):
        if self.reached_submit or event not in ("call", "return"):
            return
        module = frame.f_globals.get("__name__", "")
        if event == "call" and module == "jobs.services" and frame.f_code.co_name == "submit":
            self.reached_submit = True
            return
        if not module.startswith("media_library") or frame.f_code.co_name == "<module>":
            return
        if event == "call":
            if not self.active.get(module):
                (self.reentered if module in self.left else self.entered).append(module)
            self.active[module] = self.active.get(module, 0) + 1
        elif self.active.get(module):
            self.active[module] -= 1
            if not self.active[module]:
                self.left.add(module)

    def run(self, call):
        sys.setprofile(self)
        try:
            return call()
        finally:
            sys.setprofile(None)


def test_select_all_then_move_to_trash_enters_each_module_once(make_user):
    owner = make_user()
    folder = create_folder(owner.pk, None, "Holiday")
    make_files(owner, 30, folder=folder)
    client = Client()
    client.force_login(owner)
    data = {"action": "trash", "scope": "all", "folder_id": folder.pk, "q": "", "sort": "name"}
    url = reverse("media_library:submit_action")
    client.post(reverse("media_library:confirm_action"), data)  # imports and caches warmed up

    trace = ModuleTrace()
    response = trace.run(lambda: client.post(url, data, HTTP_HX_REQUEST="true"))

    assert response.status_code == 202
    assert trace.reached_submit
    assert trace.reentered == [], f"re-entered {trace.reentered} on the path {trace.entered}"
    assert trace.entered[:3] == [
        "media_library.views.actions",
        "media_library.actions.submit",
        "media_library.actions.registry",
    ], trace.entered
    assert {"media_library.actions.selection", "media_library.folders", "media_library.listing"} <= set(
        trace.entered
    )
