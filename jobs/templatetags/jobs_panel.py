from django import template

from jobs import routing
from jobs.progress import card_extras
from jobs.selectors import panel_jobs, with_labels

register = template.Library()


@register.inclusion_tag("jobs/_panel.html", takes_context=True)
def jobs_panel(context):
    """The jobs drawer on every page: rendered with the current state, then followed live."""
    request = context["request"]
    jobs = with_labels(panel_jobs(request.user))
    return {"jobs": jobs, "request": request, "socket_url": routing.socket_url()}


@register.simple_tag
def jobs_socket_url():
    """`ws-connect="{% jobs_socket_url %}"`: where the jobs websocket is (jobs.routing)."""
    return routing.socket_url()


@register.simple_tag
def job_extras(job):
    """`{% job_extras job as extra %}` in the job card: what the job's kind adds (see card_extras)."""
    return card_extras(job)
