"""Read-only admin of the overflow table: what was counted, never edited by hand."""

from django.contrib import admin

from .models import ChannelOverflow


@admin.register(ChannelOverflow)
class ChannelOverflowAdmin(admin.ModelAdmin):
    list_display = (
        "window_start",
        "node",
        "group",
        "source",
        "drops",
        "queues_over",
        "max_group_size",
        "first_seen",
        "last_seen",
    )
    list_filter = ("source", "node", "window_start")
    search_fields = ("group",)
    date_hierarchy = "window_start"
    ordering = ("-window_start", "group")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
