"""Post a Django admin change form the way a browser would: every field it rendered, edited."""


def _bound_values(form):
    data = {}
    for bound in form:
        value = bound.value()
        if value is None or value is False:
            continue
        if value is True:
            value = "on"
        if isinstance(value, list | tuple):
            data[bound.html_name] = [str(v) for v in value]
        else:
            data[bound.html_name] = str(getattr(value, "key", value))
    return data


def admin_change_form_data(response, **changes):
    """The data the admin change page in `response` would post, with `changes` applied."""
    data = _bound_values(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_bound_values(formset.management_form))
        for form in formset.forms:
            data.update(_bound_values(form))
    data.update({key: str(value) for key, value in changes.items()})
    data["_save"] = "Save"
    return data
