"""The upload form's list of image formats, from the one list in media_library.imaging."""

from django import template
from django.utils.text import get_text_list
from django.utils.translation import gettext_lazy

from media_library import imaging

register = template.Library()


@register.simple_tag
def accepted_image_types():
    """The file input's `accept`: "image/jpeg,image/png,…"."""
    return ",".join(known.content_type for known in imaging.IMAGE_FORMATS.values())


@register.simple_tag
def accepted_image_names():
    """The formats as people read them: "JPEG, PNG, WebP and GIF"."""
    return get_text_list([known.label for known in imaging.IMAGE_FORMATS.values()], gettext_lazy("and"))
