"""The app's template filters: ``{% load awx_eventdebug %}``."""

from django import template

from ..api.markup import code_spans

register = template.Library()
register.filter("code_spans", code_spans, is_safe=True)
