"""The display helpers of portal_adoption.display as template filters: {% load display %}."""

from django import template

from portal_adoption import display

register = template.Library()

register.filter("phone", display.phone)
register.filter("language_label", display.language_name)
register.filter("dollars", display.dollars)
register.filter("rule_label", display.rule_label)
register.filter("code_words", display.code_words)


@register.filter
def access_target(entry, listed_count=None):
    return display.access_target(entry, listed_count)
